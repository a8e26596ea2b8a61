//! Help for the generated commands, from the document: its markdown as plain text (emphasis
//! dropped, links as `text (url)` with the reference's relative links made whole), and every flag
//! described: a parameter the document leaves without words gets those the document gives the
//! same name elsewhere (another operation's parameter, a body's property).

use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Where the API reference lives: the document's relative links are from its pages.
const REFERENCE: &str = "https://developer.atlassian.com/cloud/customer-service-management/rest/";

use crate::document::document;

/// `customer-id`, `customerId`, `customer_id` → `customerid`.
fn key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Every description the document gives a name: parameters first, then properties.
fn descriptions() -> &'static HashMap<String, String> {
    static FOUND: OnceLock<HashMap<String, String>> = OnceLock::new();
    FOUND.get_or_init(|| {
        let doc = document();
        let mut found = HashMap::new();
        let described = |value: &Value| {
            value["description"]
                .as_str()
                .filter(|d| !d.trim().is_empty())
                .map(str::to_string)
        };
        for item in doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, v)| v)
        {
            for parameters in std::iter::once(&item["parameters"]).chain(
                item.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(_, op)| &op["parameters"]),
            ) {
                for parameter in parameters.as_array().into_iter().flatten() {
                    let schema = &parameter["schema"];
                    let schema = schema["$ref"]
                        .as_str()
                        .and_then(|r| doc.pointer(r.trim_start_matches('#')))
                        .unwrap_or(schema);
                    let text = described(parameter).or_else(|| described(schema));
                    if let (Some(name), Some(text)) = (parameter["name"].as_str(), text) {
                        found.entry(key(name)).or_insert(text);
                    }
                }
            }
        }
        for schema in doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, v)| v)
        {
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                if let Some(text) = described(property) {
                    found.entry(key(name)).or_insert(text);
                }
            }
        }
        found
    })
}

/// The reference page of an operation's tag (`Customer bulk operations` →
/// `api-group-customer-bulk-operations/`).
fn page_of(method: &str) -> String {
    let tag = crate::document::operation(method)
        .and_then(|operation| operation["tags"][0].as_str())
        .unwrap_or_default();
    let slug: Vec<String> = tag.split_whitespace().map(str::to_lowercase).collect();
    format!("{REFERENCE}api-group-{}/", slug.join("-"))
}

/// A link target made whole: `../api-group-task/#x` from the operation's page.
fn whole(url: &str, page: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        url.to_string()
    } else if let Some(rest) = url.strip_prefix("../") {
        format!("{REFERENCE}{rest}")
    } else if let Some(rest) = url.strip_prefix("./") {
        format!("{page}{rest}")
    } else if url.starts_with('#') {
        format!("{page}{url}")
    } else {
        format!("{REFERENCE}{}", url.trim_start_matches('/'))
    }
}

/// Markdown as plain text: `**bold**` and `__bold__` as their words, `[text](url)` as
/// `text (url)` (relative links made whole from `page`), line breaks kept.
pub fn plain(markdown: &str, page: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    let mut rest = markdown;
    while let Some(open) = rest.find('[') {
        let link = rest[open + 1..].find("](").and_then(|close| {
            let after = open + 1 + close + 2;
            rest[after..]
                .find(')')
                .map(|end| (close, after, after + end))
        });
        let Some((close, url_start, url_end)) = link else {
            text.push_str(&rest[..=open]);
            rest = &rest[open + 1..];
            continue;
        };
        let label = &rest[open + 1..open + 1 + close];
        let url = whole(&rest[url_start..url_end], page);
        text.push_str(&rest[..open]);
        text.push_str(&format!("{label} ({url})"));
        rest = &rest[url_end + 1..];
    }
    text.push_str(rest);
    text.replace("**", "").replace("__", "")
}

/// An operation's command with its texts as plain text and every flag described.
pub fn polish(command: clap::Command, method: &str) -> clap::Command {
    let page = page_of(method);
    let mut command = command;
    if let Some(about) = command.get_about().map(|a| plain(&a.to_string(), &page)) {
        command = command.about(about);
    }
    if let Some(long) = command
        .get_long_about()
        .map(|a| plain(&a.to_string(), &page))
    {
        command = command.long_about(long);
    }
    let ids: Vec<String> = command
        .get_arguments()
        .filter(|arg| !arg.is_global_set())
        .map(|arg| arg.get_id().to_string())
        .collect();
    for id in ids {
        command = command.mut_arg(&id, |arg| {
            let given = arg
                .get_long_help()
                .or(arg.get_help())
                .map(|h| h.to_string())
                .filter(|h| !h.trim().is_empty());
            let text = given
                .or_else(|| descriptions().get(&key(&id)).cloned())
                .unwrap_or_else(|| format!("The {} (see the operation's description)", words(&id)));
            let text = plain(text.trim(), &page);
            let summary = text.lines().next().unwrap_or_default().to_string();
            arg.help(summary).long_help(text)
        });
    }
    command
}

/// `customer-id` → `customer id`.
fn words(id: &str) -> String {
    id.replace(['-', '_'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_plain_text_with_whole_links() {
        let page = "https://example.test/rest/api-group-customer/";
        assert_eq!(
            plain("**Permissions required:** see [the task API](../api-group-task/#x).", page),
            "Permissions required: see the task API (https://developer.atlassian.com/cloud/customer-service-management/rest/api-group-task/#x)."
        );
        assert_eq!(
            plain("[a](./#get) and [b](https://support.atlassian.com/p/) [not a link", page),
            "a (https://example.test/rest/api-group-customer/#get) and b (https://support.atlassian.com/p/) [not a link"
        );
    }

    #[test]
    fn every_flag_of_every_generated_command_has_plain_help() {
        let command = crate::command();
        let mut flags = 0;
        for sub in command.get_subcommands() {
            for text in [sub.get_about(), sub.get_long_about()]
                .into_iter()
                .flatten()
            {
                let text = text.to_string();
                assert!(
                    !text.contains("](") && !text.contains("**"),
                    "{}: {text}",
                    sub.get_name()
                );
            }
            for arg in sub.get_arguments().filter(|a| !a.is_global_set()) {
                flags += 1;
                let help = arg
                    .get_long_help()
                    .or(arg.get_help())
                    .map(|h| h.to_string());
                let help = help.unwrap_or_default();
                assert!(
                    !help.trim().is_empty(),
                    "{} --{}: no help",
                    sub.get_name(),
                    arg.get_id()
                );
                assert!(
                    !help.contains("]("),
                    "{} --{}: {help}",
                    sub.get_name(),
                    arg.get_id()
                );
            }
        }
        assert!(flags > 100, "{flags} flags");
    }
}
