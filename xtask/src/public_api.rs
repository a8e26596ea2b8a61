//! The public API of `atlassian-csm`, read from its rustdoc pages, against the record in
//! `api/atlassian-csm.txt`: a change the CHANGELOG does not name fails the check.
//!
//! Each line of the record is one promise a user can lean on: an item's declaration
//! (`bulk::StopHandle | pub struct StopHandle(/* private fields */);`), a method's signature under
//! its impl, a trait implemented (auto traits too: `Send` is a promise). Read from the HTML that
//! `cargo doc` writes, which CI builds anyway, so the check costs no second compilation; blanket
//! implementations (`impl<T> From<T> for T`) are left out, as they follow from the rest.
//!
//! `cargo xtask public-api` compares and fails on any difference; with `--bless` it records the
//! API as it is, but only once every item that changed is named in backticks in the CHANGELOG's
//! `[Unreleased]` section. The crate's features are recorded beside its items.

use std::collections::BTreeSet;
use std::path::Path;

/// The record of the public API, relative to the workspace root.
pub const RECORD_FILE: &str = "api/atlassian-csm.txt";
/// Where `cargo doc` writes the crate's pages, relative to the target directory.
const DOC_DIR: &str = "doc/atlassian_csm";

/// The API as the pages in `target/doc/atlassian_csm` describe it, one promise per line.
pub fn read_api(target: &Path) -> Result<BTreeSet<String>, String> {
    let doc = target.join(DOC_DIR);
    let all = std::fs::read_to_string(doc.join("all.html")).map_err(|e| {
        format!(
            "cannot read {}: {e}; run `cargo doc --no-deps --package atlassian-csm --features sync,metrics,postgres` first",
            doc.join("all.html").display()
        )
    })?;
    let mut lines = BTreeSet::new();
    for (page, path) in item_links(&all) {
        let html = std::fs::read_to_string(doc.join(&page))
            .map_err(|e| format!("cannot read {page}: {e}"))?;
        lines.extend(promises(&path, &html));
    }
    if lines.is_empty() {
        return Err(format!("{} lists no item", doc.join("all.html").display()));
    }
    Ok(lines)
}

/// The crate's features as `cargo metadata` gives them, one promise per line (`feature::rustls |
/// rustls = ["dep:rustls", …]`): what a feature turns on is part of what a user builds.
pub fn feature_lines(metadata: &serde_json::Value) -> Result<BTreeSet<String>, String> {
    let package = metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|p| p["name"] == "atlassian-csm"))
        .ok_or("cargo metadata lists no atlassian-csm package")?;
    let features = package["features"]
        .as_object()
        .ok_or("cargo metadata gives atlassian-csm no features")?;
    Ok(features
        .iter()
        .map(|(name, enables)| {
            let enables: Vec<String> = enables
                .as_array()
                .into_iter()
                .flatten()
                .map(|value| format!("{value}"))
                .collect();
            format!("feature::{name} | {name} = [{}]", enables.join(", "))
        })
        .collect())
}

/// `(page, path)` of every item `all.html` lists: `("bulk/struct.StopHandle.html",
/// "bulk::StopHandle")`.
fn item_links(all: &str) -> Vec<(String, String)> {
    let mut links = Vec::new();
    for list in all.split("<ul class=\"all-items\">").skip(1) {
        let list = list.split("</ul>").next().unwrap_or_default();
        for entry in list.split("<li><a href=\"").skip(1) {
            let Some((page, rest)) = entry.split_once("\">") else {
                continue;
            };
            let path = rest.split("</a>").next().unwrap_or_default();
            links.push((page.to_string(), decode(path)));
        }
    }
    links
}

/// The promises one item's page makes: its declaration; each inherent impl with what it holds;
/// each trait it implements (auto traits too), with the associated types of the impl. The methods
/// of trait impls follow from the trait, and those reached through `Deref` and the blanket impls
/// are the standard library's, so they are left out.
fn promises(path: &str, html: &str) -> Vec<String> {
    let mut sections = html.split("<h2 id=\"");
    let head = sections.next().unwrap_or_default();
    let mut lines = Vec::new();
    if let Some(declaration) = between(
        head,
        "<pre class=\"rust item-decl\"><code>",
        "</code></pre>",
    ) {
        lines.push(format!("{path} | {}", text(declaration)));
    }
    // A trait's own page lists its items in its declaration; its implementors are other pages.
    let inherent_members = |section: &str| section.starts_with("implementations\"");
    for section in sections {
        let members = if inherent_members(section) {
            Member::All
        } else if section.starts_with("trait-implementations\"")
            || section.starts_with("synthetic-implementations\"")
        {
            Member::Types
        } else {
            continue;
        };
        let mut implementation = String::new();
        for (level, header) in code_headers(section) {
            let header = text(header);
            if level == 3 {
                lines.push(format!("{path} | {header}"));
                implementation = header;
            } else if members == Member::All || header.starts_with("type ") {
                lines.push(format!("{path} | {implementation} | {header}"));
            }
        }
    }
    lines
}

/// Which members of an impl are promises of the crate's own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Member {
    All,
    Types,
}

/// Every `<h3 class="code-header">` (an impl) and `<h4 class="code-header">` (what it holds), in
/// page order, with its level.
fn code_headers(html: &str) -> Vec<(u8, &str)> {
    let mut headers = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(" class=\"code-header\">") {
        let level = if rest[..at].ends_with("<h3") { 3 } else { 4 };
        let body = &rest[at + " class=\"code-header\">".len()..];
        let end = body.find("</h").unwrap_or(body.len());
        headers.push((level, &body[..end]));
        rest = &body[end..];
    }
    headers
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// The text of an HTML fragment: tags dropped, entities decoded, white space collapsed.
fn text(html: &str) -> String {
    let mut plain = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    decode(&plain)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// What changed between the record and the API as it is.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl Changes {
    pub fn between(recorded: &BTreeSet<String>, current: &BTreeSet<String>) -> Self {
        Self {
            added: current.difference(recorded).cloned().collect(),
            removed: recorded.difference(current).cloned().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// The names of the items that changed which the CHANGELOG's `[Unreleased]` section does not
    /// name in backticks, sorted.
    pub fn unnamed_in(&self, changelog: &str) -> Vec<String> {
        let spans = code_spans(unreleased(changelog));
        let mut unnamed: BTreeSet<String> = BTreeSet::new();
        for line in self.added.iter().chain(&self.removed) {
            let name = changed_name(line);
            if !spans.iter().any(|span| holds_word(span, &name)) {
                unnamed.insert(name);
            }
        }
        unnamed.into_iter().collect()
    }
}

/// The name a change is known by: the method, constant or type a member line declares, else its
/// item's last path segment (`bulk::StopHandle | impl StopHandle | pub fn stop(&self)` → `stop`).
fn changed_name(line: &str) -> String {
    let parts: Vec<&str> = line.split(" | ").collect();
    let item = parts[0].rsplit("::").next().unwrap_or(parts[0]).to_string();
    let Some(member) = parts.get(2) else {
        return item;
    };
    for keyword in ["fn ", "const ", "type "] {
        if let Some(after) = member.split(keyword).nth(1) {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                return name;
            }
        }
    }
    item
}

/// The `[Unreleased]` section of a Keep a Changelog file.
fn unreleased(changelog: &str) -> &str {
    let Some(start) = changelog.find("## [Unreleased]") else {
        return "";
    };
    let section = &changelog[start + "## [Unreleased]".len()..];
    match section.find("\n## ") {
        Some(end) => &section[..end],
        None => section,
    }
}

/// The text inside each pair of backticks.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Whether `name` stands in `span` as a whole word (`StopHandle::stop` holds `stop`).
fn holds_word(span: &str, name: &str) -> bool {
    span.match_indices(name).any(|(at, _)| {
        let before = span[..at].chars().next_back();
        let after = span[at + name.len()..].chars().next();
        let apart = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        apart(before) && apart(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r##"<pre class="rust item-decl"><code>pub struct StopHandle(<span class="comment">/* private fields */</span>);</code></pre>
<h2 id="implementations" class="section-header">Implementations</h2>
<h3 class="code-header">impl <a class="struct" href="x">StopHandle</a></h3>
<h4 class="code-header">pub fn <a href="#method.stop" class="fn">stop</a>(&amp;self)</h4>
<h2 id="deref-methods-str" class="section-header">Methods from Deref</h2>
<h3 class="code-header">impl str</h3>
<h4 class="code-header">pub fn len(&amp;self) -&gt; usize</h4>
<h2 id="trait-implementations" class="section-header">Trait Implementations</h2>
<h3 class="code-header">impl Clone for StopHandle</h3>
<h4 class="code-header">fn clone(&amp;self) -&gt; StopHandle</h4>
<h3 class="code-header">impl IntoFuture for StopHandle</h3>
<h4 class="code-header">type Output = ()</h4>
<h2 id="synthetic-implementations" class="section-header">Auto Trait Implementations</h2>
<h3 class="code-header">impl <a>Send</a> for <a>StopHandle</a></h3>
<h2 id="blanket-implementations" class="section-header">Blanket Implementations</h2>
<h3 class="code-header">impl&lt;T&gt; From&lt;T&gt; for T</h3>"##;

    #[test]
    fn features_are_promises_named_by_their_name() {
        let metadata = serde_json::json!({"packages": [
            {"name": "atlassian-csm-mock", "features": {"x": []}},
            {"name": "atlassian-csm", "features": {"default": ["rustls"], "rustls": ["dep:rustls", "rustls/ring"]}}
        ]});
        let lines = feature_lines(&metadata).unwrap();
        assert_eq!(
            lines,
            set(&[
                r#"feature::default | default = ["rustls"]"#,
                r#"feature::rustls | rustls = ["dep:rustls", "rustls/ring"]"#,
            ])
        );
        let before = set(&[r#"feature::rustls | rustls = ["reqwest/rustls"]"#]);
        let changes = Changes::between(&before, &lines);
        assert_eq!(
            changes.unnamed_in("## [Unreleased]\n- `rustls`\n"),
            ["default"]
        );
    }

    fn set(lines: &[&str]) -> BTreeSet<String> {
        lines.iter().map(|line| line.to_string()).collect()
    }

    #[test]
    fn a_page_gives_its_declaration_inherent_methods_and_trait_impls_but_not_std_s_methods() {
        assert_eq!(
            promises("bulk::StopHandle", PAGE),
            [
                "bulk::StopHandle | pub struct StopHandle(/* private fields */);",
                "bulk::StopHandle | impl StopHandle",
                "bulk::StopHandle | impl StopHandle | pub fn stop(&self)",
                "bulk::StopHandle | impl Clone for StopHandle",
                "bulk::StopHandle | impl IntoFuture for StopHandle",
                "bulk::StopHandle | impl IntoFuture for StopHandle | type Output = ()",
                "bulk::StopHandle | impl Send for StopHandle",
            ]
        );
    }

    #[test]
    fn all_items_lists_pages_and_paths() {
        let all = r#"<ul class="all-items"><li><a href="struct.Client.html">Client</a></li><li><a href="bulk/struct.StopHandle.html">bulk::StopHandle</a></li></ul>"#;
        assert_eq!(
            item_links(all),
            [
                ("struct.Client.html".to_string(), "Client".to_string()),
                (
                    "bulk/struct.StopHandle.html".to_string(),
                    "bulk::StopHandle".to_string()
                ),
            ]
        );
    }

    #[test]
    fn a_change_the_changelog_does_not_name_is_reported_and_a_named_one_is_not() {
        let recorded = set(&["bulk::StopHandle | pub struct StopHandle;"]);
        let current = set(&[
            "bulk::StopHandle | pub struct StopHandle;",
            "bulk::StopHandle | impl StopHandle | pub fn stop(&self)",
            "Error | pub enum Error { Stopped }",
        ]);
        let changes = Changes::between(&recorded, &current);
        assert_eq!(changes.added.len(), 2);
        let silent = "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- Imports stop.\n\n## [0.1.0]\n\n- `stop` and `Error` were there.\n";
        assert_eq!(changes.unnamed_in(silent), ["Error", "stop"]);
        let said = "## [Unreleased]\n\n- `StopHandle::stop` and `Error::Stopped`.\n";
        assert!(changes.unnamed_in(said).is_empty());
    }

    #[test]
    fn a_removed_item_needs_naming_too() {
        let changes = Changes::between(
            &set(&["formats::is_uuid | pub fn is_uuid(text: &str) -> bool"]),
            &set(&[]),
        );
        assert_eq!(changes.unnamed_in("## [Unreleased]\n"), ["is_uuid"]);
        assert!(changes
            .unnamed_in("## [Unreleased]\n- `formats::is_uuid` removed.\n")
            .is_empty());
    }

    #[test]
    fn names_are_matched_as_whole_words() {
        assert!(holds_word("StopHandle::stop", "stop"));
        assert!(!holds_word("stopped", "stop"));
        assert!(!holds_word("nonstop", "stop"));
    }
}
