//! Free text fields: names, locations, notes, phone numbers, company names.

use std::fmt;

/// Non-blank text of at most 200 characters with no control characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

const MAX_NAME: usize = 200;

impl Name {
    pub fn parse(field: &str, input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err(format!("{field} cannot be empty"));
        }
        if s.chars().count() > MAX_NAME {
            return Err(format!("{field} is too long (at most {MAX_NAME} characters)"));
        }
        if s.chars().any(char::is_control) {
            return Err(format!("{field} cannot contain control characters"));
        }
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

/// Optional text (phone, company, notes): an empty value clears it. At most 2000 characters;
/// new lines are allowed (notes), other control characters are not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionalText(Option<String>);

const MAX_TEXT: usize = 2000;

impl OptionalText {
    pub fn parse(field: &str, input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.chars().count() > MAX_TEXT {
            return Err(format!("{field} is too long (at most {MAX_TEXT} characters)"));
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(format!("{field} cannot contain control characters"));
        }
        Ok(OptionalText((!s.is_empty()).then(|| s.to_owned())))
    }
    pub fn none() -> Self {
        OptionalText(None)
    }
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_not_be_blank() {
        assert_eq!(Name::parse("name", "  Zoë O'Brien ").unwrap().as_str(), "Zoë O'Brien");
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", "a\u{7}b").is_err());
        assert!(Name::parse("name", &"x".repeat(201)).is_err());
    }

    #[test]
    fn optional_text_empty_means_none() {
        assert_eq!(OptionalText::parse("phone", " ").unwrap().as_deref(), None);
        assert_eq!(OptionalText::parse("notes", "a\nb").unwrap().as_deref(), Some("a\nb"));
        assert!(OptionalText::parse("notes", "a\u{0}b").is_err());
    }
}
