//! Free text: names, locations, phone numbers, company names (one line each), and notes
//! (several lines). Spec §4: one-line fields refuse control characters and Unicode
//! bidirectional controls; notes may hold line breaks. Whatever is stored, human output shows
//! control characters escaped ([`escape_controls`]), so no value can forge a row or a line.

use std::fmt;

/// The Unicode bidirectional controls: embeddings, overrides, isolates and marks. They reorder
/// how a terminal shows the text around them (`Trojan Source`, CVE-2021-42574).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The Unicode line and paragraph separators (U+2028, U+2029): not control characters, but
/// line breaks to JavaScript, JSON readers and some terminals and editors. (NEL, U+0085, is a
/// control character already.)
pub fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

fn forbidden_in_line(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_line_separator(c)
}

/// `text` with every control character and bidirectional control written as an escape
/// (`\n`, `\t`, `\r`, `\\`-free otherwise: `\u{1b}`), for tables and `key: value` blocks.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(forbidden_in_line) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut s = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            '\r' => s.push_str("\\r"),
            c if forbidden_in_line(c) => s.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => s.push(c),
        }
    }
    std::borrow::Cow::Owned(s)
}

/// One line of text: trimmed, not blank, at most 200 characters, no control character and no
/// bidirectional control. `field` names it in the error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

const MAX_NAME: usize = 200;

fn check_line(field: &str, s: &str, max: usize) -> Result<(), String> {
    if s.chars().count() > max {
        return Err(format!("{field} is too long (at most {max} characters)"));
    }
    if s.chars().any(|c| c == '\n' || c == '\r' || c == '\u{85}' || is_line_separator(c)) {
        return Err(format!("{field} must be a single line"));
    }
    if s.chars().any(forbidden_in_line) {
        return Err(format!("{field} cannot contain control characters or bidirectional controls"));
    }
    Ok(())
}

impl Name {
    pub fn parse(field: &str, input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err(format!("{field} cannot be empty"));
        }
        check_line(field, s, MAX_NAME)?;
        Ok(Name(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

super::string_serde!(Name, |s: &str| Name::parse("text", s));

/// An optional line (phone, company): an empty value means none (and clears it in an
/// update). The same rules as [`Name`] otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptionalText(Option<String>);

impl OptionalText {
    pub fn parse(field: &str, input: &str) -> Result<Self, String> {
        let s = input.trim();
        check_line(field, s, MAX_NAME)?;
        Ok(OptionalText((!s.is_empty()).then(|| s.to_owned())))
    }
    pub fn none() -> Self {
        OptionalText(None)
    }
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl fmt::Display for OptionalText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_deref().unwrap_or(""))
    }
}

// `""` is none: in an update, `"phone": ""` clears the phone, an absent field keeps it.
super::string_serde!(OptionalText, |s: &str| OptionalText::parse("text", s));

/// Free notes: several lines (line breaks and tabs), at most 2000 characters; other control
/// characters and bidirectional controls are refused. An empty value means none. Windows
/// line ends are kept as plain line breaks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notes(Option<String>);

pub const MAX_NOTES: usize = 2000;

impl Notes {
    pub fn parse(field: &str, input: &str) -> Result<Self, String> {
        let s = input.trim().replace("\r\n", "\n");
        if s.chars().count() > MAX_NOTES {
            return Err(format!("{field} is too long (at most {MAX_NOTES} characters)"));
        }
        if s.chars().any(|c| c != '\n' && c != '\t' && forbidden_in_line(c)) {
            return Err(format!(
                "{field} cannot contain control characters (other than line breaks and tabs) \
                 or bidirectional controls"
            ));
        }
        Ok(Notes((!s.is_empty()).then_some(s)))
    }
    pub fn none() -> Self {
        Notes(None)
    }
    /// The notes with `line` added as a line of their own (`event update --append-notes`),
    /// within the notes' length.
    pub fn appended(field: &str, current: Option<&str>, line: &Notes) -> Result<Self, String> {
        let joined = match (current.filter(|c| !c.is_empty()), line.as_deref()) {
            (Some(c), Some(l)) => format!("{c}\n{l}"),
            (Some(c), None) => c.to_owned(),
            (None, l) => l.unwrap_or_default().to_owned(),
        };
        if joined.chars().count() > MAX_NOTES {
            return Err(format!(
                "{field} would be too long with that line (at most {MAX_NOTES} characters)"
            ));
        }
        Ok(Notes((!joined.is_empty()).then_some(joined)))
    }
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl fmt::Display for Notes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_deref().unwrap_or(""))
    }
}

super::string_serde!(Notes, |s: &str| Notes::parse("notes", s));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_single_lines_without_controls() {
        assert_eq!(Name::parse("name", "  Zoë O'Brien ").unwrap().as_str(), "Zoë O'Brien");
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", "a\u{7}b").is_err());
        assert!(Name::parse("name", "a\nb").unwrap_err().contains("single line"));
        assert!(Name::parse("name", "a\tb").is_err());
        assert!(Name::parse("name", "evil\u{202E}gnp.exe").is_err());
        assert!(Name::parse("name", &"x".repeat(201)).is_err());
        // the Unicode line and paragraph separators and NEL are line breaks too
        for sep in ['\u{2028}', '\u{2029}', '\u{85}'] {
            let e = Name::parse("name", &format!("a{sep}b")).unwrap_err();
            assert!(e.contains("single line"), "{sep:?}: {e}");
            assert!(OptionalText::parse("company", &format!("a{sep}b")).is_err());
        }
    }

    #[test]
    fn optional_text_empty_means_none_and_is_one_line() {
        assert_eq!(OptionalText::parse("phone", " ").unwrap().as_deref(), None);
        assert!(OptionalText::parse("company", "Forged\n7 Row").is_err());
        assert!(OptionalText::parse("phone", "01\t02").is_err());
    }

    #[test]
    fn notes_keep_line_breaks_and_tabs_only() {
        assert_eq!(Notes::parse("notes", "a\r\nb\tc").unwrap().as_deref(), Some("a\nb\tc"));
        assert_eq!(Notes::parse("notes", "  ").unwrap().as_deref(), None);
        assert!(Notes::parse("notes", "a\u{0}b").is_err());
        assert!(Notes::parse("notes", "a\u{1b}[31mred").is_err());
        assert!(Notes::parse("notes", "a\u{2067}b").is_err());
    }

    #[test]
    fn escaping_shows_every_control() {
        assert_eq!(escape_controls("plain"), "plain");
        assert_eq!(escape_controls("a\nb\tc\u{1b}[0m"), "a\\nb\\tc\\u{1b}[0m");
        assert_eq!(escape_controls("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(escape_controls("x\u{2028}y\u{85}"), "x\\u{2028}y\\u{85}");
    }
}
