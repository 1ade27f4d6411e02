//! XML read into small element trees named by local name (prefixes dropped: Cargo-XML senders
//! choose their own prefixes for the same namespaces), one tree per top-level element, so that a
//! file of several messages is read message by message and a broken one does not lose the rest.

use quick_xml::events::Event as Xml;
use quick_xml::Reader;
use std::ops::Range;

/// Deeper nesting than any Cargo-XML message has is refused, so hostile input cannot exhaust
/// the stack of the code walking the tree.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|child| child.name == name)
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// The node at a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, name| node.child(name))
    }

    /// The trimmed, non-empty text at a path.
    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        Some(self.at(path)?.text.trim()).filter(|text| !text.is_empty())
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A top-level element and where its bytes are in the input.
#[derive(Debug)]
pub struct Document {
    pub root: Node,
    pub span: Range<usize>,
}

/// Where reading stopped, and why.
#[derive(Debug, PartialEq)]
pub struct XmlError {
    pub offset: usize,
    pub reason: String,
}

/// Every complete top-level element of `text`, and the error that stopped the reading, if any.
pub fn documents(text: &str) -> (Vec<Document>, Option<XmlError>) {
    let mut reader = Reader::from_str(text);
    let mut documents = Vec::new();
    let mut stack: Vec<Node> = Vec::new();
    let mut start = 0;
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                let offset = reader.error_position() as usize;
                return (
                    documents,
                    Some(XmlError {
                        offset,
                        reason: error.to_string(),
                    }),
                );
            }
        };
        let fail = |reason: String| XmlError {
            offset: before,
            reason,
        };
        match event {
            Xml::Start(tag) | Xml::Empty(tag) if stack.len() >= MAX_DEPTH => {
                let _ = tag;
                return (
                    documents,
                    Some(fail(format!("elements nest deeper than {MAX_DEPTH}"))),
                );
            }
            Xml::Start(tag) => {
                if stack.is_empty() {
                    start = before;
                }
                match node(&tag) {
                    Ok(node) => stack.push(node),
                    Err(reason) => return (documents, Some(fail(reason))),
                }
            }
            Xml::Empty(tag) => {
                let node = match node(&tag) {
                    Ok(node) => node,
                    Err(reason) => return (documents, Some(fail(reason))),
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => documents.push(Document {
                        root: node,
                        span: before..reader.buffer_position() as usize,
                    }),
                }
            }
            Xml::End(_) => {
                let Some(node) = stack.pop() else {
                    return (documents, Some(fail("an end tag without its start".into())));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => documents.push(Document {
                        root: node,
                        span: start..reader.buffer_position() as usize,
                    }),
                }
            }
            Xml::Text(content) => {
                let content = content.xml10_content();
                match stack.last_mut() {
                    Some(node) => node.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return (documents, Some(fail("text outside of any element".into()))),
                }
            }
            Xml::CData(content) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&content.xml10_content());
                }
            }
            Xml::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(ch)) => ch.to_string(),
                    Ok(None) => match quick_xml::escape::resolve_predefined_entity(&reference) {
                        Some(text) => text.to_string(),
                        None => {
                            return (
                                documents,
                                Some(fail(format!("unknown entity &{};", &*reference))),
                            )
                        }
                    },
                    Err(error) => return (documents, Some(fail(error.to_string()))),
                };
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&resolved);
                }
            }
            Xml::Eof => {
                let error = (!stack.is_empty()).then(|| XmlError {
                    offset: text.len(),
                    reason: format!("the input ends inside <{}>", stack[0].name),
                });
                return (documents, error);
            }
            Xml::Decl(_) | Xml::PI(_) | Xml::Comment(_) | Xml::DocType(_) => {}
        }
    }
}

fn node(tag: &quick_xml::events::BytesStart<'_>) -> Result<Node, String> {
    let mut attributes = Vec::new();
    for attribute in tag.attributes() {
        let attribute = attribute.map_err(|error| error.to_string())?;
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|error| error.to_string())?;
        attributes.push((
            attribute.key.local_name().as_ref().to_string(),
            value.into_owned(),
        ));
    }
    Ok(Node {
        name: tag.local_name().as_ref().to_string(),
        attributes,
        text: String::new(),
        children: Vec::new(),
    })
}
