//! XML track responses (USPS `TrackResponse`, UPS `TrackResponse`, FedEx
//! `TrackReply`, DHL `TrackingResponse`) turned into the JSON-like tree
//! the tracking reader walks: an element with children becomes an object
//! (a name met twice becomes a list), an element with only text a string,
//! attributes of an element without text become fields. Namespace prefixes are dropped.
//!
//! The parser (roxmltree) refuses a DTD (so no entity is expanded) and is
//! given a cap on the nodes it builds; evault caps the nesting it follows.

use serde_json::{Map, Value};

/// About the most elements read from one file (the parser's node cap is
/// four nodes an element: the element, its text, attributes).
const MAX_ELEMENTS: usize = 200_000;

/// The document as a tree, or `None` when it is not well-formed XML or is
/// larger than [`MAX_ELEMENTS`].
pub(super) fn tree(text: &str) -> Option<Value> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: u32::try_from(MAX_ELEMENTS * 4).unwrap_or(u32::MAX),
    };
    let doc = roxmltree::Document::parse_with_options(text, options).ok()?;
    let root = doc.root_element();
    let mut object = Map::new();
    object.insert(root.tag_name().name().to_owned(), element(root, 0)?);
    Some(Value::Object(object))
}

/// How deep elements are followed.
const MAX_DEPTH: usize = 64;

fn element(node: roxmltree::Node<'_, '_>, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let children: Vec<_> = node
        .children()
        .filter(roxmltree::Node::is_element)
        .collect();
    let text: String = node.children().filter_map(|c| c.text()).collect();
    // An element with text and no child elements is its text (its
    // attributes, if any, are dropped: the text is what an event says).
    if children.is_empty() && (node.attributes().len() == 0 || !text.trim().is_empty()) {
        return Some(Value::String(text.trim().to_owned()));
    }
    let mut object = Map::new();
    for a in node.attributes() {
        object.insert(a.name().to_owned(), Value::String(a.value().to_owned()));
    }
    for child in children {
        let name = child.tag_name().name().to_owned();
        let value = element(child, depth + 1)?;
        match object.get_mut(&name) {
            Some(Value::Array(list)) => list.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                object.insert(name, value);
            }
        }
    }
    Some(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_elements_become_lists() {
        let v = tree(r#"<?xml version="1.0"?><r:TrackResponse xmlns:r="urn:x"><TrackInfo ID="EJ1"><TrackDetail><Event>A</Event></TrackDetail><TrackDetail><Event>B</Event></TrackDetail></TrackInfo></r:TrackResponse>"#).unwrap();
        assert_eq!(v["TrackResponse"]["TrackInfo"]["ID"], "EJ1");
        assert_eq!(
            v["TrackResponse"]["TrackInfo"]["TrackDetail"][1]["Event"],
            "B"
        );
        assert!(tree("<a><b></a>").is_none());
        // Text wins over attributes; attributes of an empty element are kept.
        let v = tree(r#"<a><b code="D">Delivered</b><c id="7"/></a>"#).unwrap();
        assert_eq!(v["a"]["b"], "Delivered");
        assert_eq!(v["a"]["c"]["id"], "7");
        assert!(tree("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").is_none());
    }
}
