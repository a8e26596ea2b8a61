//! Reading answers tolerantly (see the build script's `lenient` pass).

use serde::{Deserialize, Deserializer};

/// An optional field sent as `null` reads as its default (an empty list…), as if it were absent.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
