//! The site's own limit of unfinished tasks (5), shared by every import and sync of the site in
//! this process, whichever client they go through: two entities of one site synced at once hold
//! at most 5 tasks between them, instead of each holding 5 and the site refusing the sixth.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::Semaphore;

/// Unfinished tasks a site allows.
pub(crate) const SITE_TASKS: usize = 5;

/// The sites with imports under way, by base URL (entries of sites no import holds any more are
/// dropped as they are found).
static SITES: Mutex<Option<HashMap<String, Weak<Semaphore>>>> = Mutex::new(None);

/// The task slots of the site at `base_url`.
pub(crate) fn of_site(base_url: &str) -> Arc<Semaphore> {
    let mut sites = SITES.lock().unwrap_or_else(|e| e.into_inner());
    let sites = sites.get_or_insert_with(HashMap::new);
    if let Some(slots) = sites.get(base_url).and_then(Weak::upgrade) {
        return slots;
    }
    sites.retain(|_, slots| slots.strong_count() > 0);
    let slots = Arc::new(Semaphore::new(SITE_TASKS));
    sites.insert(base_url.to_string(), Arc::downgrade(&slots));
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_site_has_one_set_of_slots_and_others_their_own() {
        let a = of_site("https://a.example/jsm/csm/cloudid/1");
        let again = of_site("https://a.example/jsm/csm/cloudid/1");
        assert!(Arc::ptr_eq(&a, &again));
        let b = of_site("https://a.example/jsm/csm/cloudid/2");
        assert!(!Arc::ptr_eq(&a, &b));
        let _held = a.try_acquire_many(5).unwrap();
        assert_eq!(again.available_permits(), 0);
        assert_eq!(b.available_permits(), 5);
    }
}
