//! The EDIFACT syntax (ISO 9735): the service string advice (`UNA`) and its separators, the
//! release character, and the cutting of an interchange into segments, elements and components.
//! Nothing here knows a message type.

/// The six service characters of `UNA` (ISO 9735 level A defaults when there is none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    pub component: u8,
    pub element: u8,
    pub decimal: u8,
    /// `None` when the UNA gives a space: no character is released.
    pub release: Option<u8>,
    pub segment: u8,
}

impl Default for Separators {
    fn default() -> Self {
        Separators {
            component: b':',
            element: b'+',
            decimal: b'.',
            release: Some(b'?'),
            segment: b'\'',
        }
    }
}

impl Separators {
    /// The `UNA` segment that announces these separators.
    pub fn una(&self) -> String {
        let chars = [
            self.component,
            self.element,
            self.decimal,
            self.release.unwrap_or(b' '),
            b' ',
            self.segment,
        ];
        format!("UNA{}", String::from_utf8_lossy(&chars))
    }

    /// `value` with every service character released, ready to be written as one component.
    pub fn escape(&self, value: &str) -> String {
        let Some(release) = self.release else {
            return value.to_string();
        };
        let mut out = String::with_capacity(value.len());
        for c in value.chars() {
            if c.is_ascii()
                && [self.component, self.element, self.segment, release].contains(&(c as u8))
            {
                out.push(release as char);
            }
            out.push(c);
        }
        out
    }
}

/// One segment: its tag, its data elements (each a list of components, released characters
/// already resolved), and where it lies in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub tag: String,
    /// The separators it was written with.
    pub separators: Separators,
    pub elements: Vec<Vec<String>>,
    /// 1-based position in the interchange.
    pub position: usize,
    /// Byte range in the input, terminator included.
    pub start: usize,
    pub end: usize,
}

impl Segment {
    /// Component `component` of data element `element` (both 0-based, the tag not counted),
    /// `None` when absent or empty.
    pub fn get(&self, element: usize, component: usize) -> Option<&str> {
        self.elements
            .get(element)
            .and_then(|components| components.get(component))
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }
}

/// Why the input could not be cut into segments from some point on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Position the broken segment would have had.
    pub position: usize,
    pub offset: usize,
    pub reason: String,
}

/// The segments of `input`, each with the separators in force for it (a file may hold several
/// interchanges, each with its own `UNA`); when the input breaks off, the segments before the
/// break and the error that stopped it (so the complete messages before it are still taken).
pub fn segments(input: &[u8]) -> (Vec<Segment>, Option<SyntaxError>) {
    let mut separators = Separators::default();
    let mut found = Vec::new();
    let mut at = skip_space(input, 0);
    while at < input.len() {
        let position = found.len() + 1;
        let read = if input[at..].starts_with(b"UNA") {
            advice(&input[at..]).map(|advised| {
                separators = advised;
                at + 9
            })
        } else {
            segment(input, at, &separators, position).map(|segment| {
                let end = segment.end;
                found.push(segment);
                end
            })
        };
        match read {
            Ok(end) => at = skip_space(input, end),
            Err(reason) => {
                let error = SyntaxError {
                    position,
                    offset: at,
                    reason,
                };
                return (found, Some(error));
            }
        }
    }
    (found, None)
}

/// The separators a `UNA` announces.
fn advice(input: &[u8]) -> Result<Separators, String> {
    let Some(advice) = input.get(3..9) else {
        return Err("UNA: the service string advice needs six characters after UNA".into());
    };
    let separators = Separators {
        component: advice[0],
        element: advice[1],
        decimal: advice[2],
        release: (advice[3] != b' ').then_some(advice[3]),
        segment: advice[5],
    };
    let distinct = [advice[0], advice[1], advice[5]];
    if distinct[0] == distinct[1] || distinct[1] == distinct[2] || distinct[0] == distinct[2] {
        return Err("UNA: the component, element and segment separators must differ".into());
    }
    Ok(separators)
}

/// Line breaks and spaces between segments are not part of EDIFACT, but files carry them.
fn skip_space(input: &[u8], mut at: usize) -> usize {
    while at < input.len() && matches!(input[at], b'\r' | b'\n' | b' ' | b'\t') {
        at += 1;
    }
    at
}

fn segment(
    input: &[u8],
    start: usize,
    separators: &Separators,
    position: usize,
) -> Result<Segment, String> {
    let mut elements: Vec<Vec<String>> = Vec::new();
    let mut components: Vec<String> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut at = start;
    loop {
        let Some(&byte) = input.get(at) else {
            let tag = String::from_utf8_lossy(&input[start..input.len().min(start + 3)]);
            return Err(format!(
                "segment {tag}: the input ends before its segment terminator {:?}",
                separators.segment as char
            ));
        };
        at += 1;
        if Some(byte) == separators.release {
            let Some(&released) = input.get(at) else {
                return Err("the input ends after a release character".into());
            };
            current.push(released);
            at += 1;
        } else if byte == separators.component {
            components.push(text(&current));
            current.clear();
        } else if byte == separators.element {
            components.push(text(&current));
            current.clear();
            elements.push(std::mem::take(&mut components));
        } else if byte == separators.segment {
            components.push(text(&current));
            elements.push(components);
            break;
        } else {
            current.push(byte);
        }
    }
    let mut elements = elements.into_iter();
    let tag_element = elements.next().unwrap_or_default();
    let tag = tag_element.first().cloned().unwrap_or_default();
    if tag.len() != 3
        || !tag
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        let shown: String = tag.chars().take(20).collect();
        return Err(format!(
            "{shown:?} is not a segment tag (three capital letters or digits)"
        ));
    }
    Ok(Segment {
        tag,
        separators: *separators,
        elements: elements.collect(),
        position,
        start,
        end: at,
    })
}

/// UNOC (ISO 8859-1) text: UTF-8 when it is valid UTF-8, Latin-1 otherwise.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(valid) => valid.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_separators_and_released_characters() {
        let (found, error) = segments(b"UNB+UNOC:3+A?+B:ZZ'\r\nFTX+AAI+++50?% off?: now?''");
        assert_eq!(found[0].separators, Separators::default());
        assert!(error.is_none());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].get(1, 0), Some("A+B"));
        assert_eq!(found[0].get(1, 1), Some("ZZ"));
        assert_eq!(found[1].get(3, 0), Some("50% off: now'"));
        assert_eq!(found[1].position, 2);
    }

    #[test]
    fn a_service_string_advice_changes_every_separator() {
        let input = b"UNA|*,! ~UNB*UNOC|3*SENDER!*X~EQD*CN*CSQU3054383~";
        let (found, error) = segments(input);
        assert!(error.is_none(), "{error:?}");
        let separators = found[0].separators;
        assert_eq!(separators.component, b'|');
        assert_eq!(separators.element, b'*');
        assert_eq!(separators.release, Some(b'!'));
        assert_eq!(separators.segment, b'~');
        assert_eq!(found[0].get(0, 1), Some("3"));
        assert_eq!(found[0].get(1, 0), Some("SENDER*X"));
        assert_eq!(found[1].get(1, 0), Some("CSQU3054383"));
        let escaped = separators.escape("a*b|c~d!e");
        assert_eq!(escaped, "a!*b!|c!~d!!e");
    }

    #[test]
    fn a_cut_input_keeps_the_segments_before_the_cut() {
        let (found, error) = segments(b"UNB+UNOC:3'UNH+1+COD");
        assert_eq!(found.len(), 1);
        let error = error.unwrap();
        assert_eq!(error.position, 2);
        assert!(error.reason.contains("terminator"), "{}", error.reason);
        let (_, error) = segments(b"UNB+A'un h+1'");
        assert!(error.unwrap().reason.contains("segment tag"));
    }
}
