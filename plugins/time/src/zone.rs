//! Time zones by name: IANA names from the bundled database, `UTC`/`Z`, and fixed offsets.
//!
//! A name that is not found is answered with the IANA names it probably meant (`Paris` →
//! `Europe/Paris`), never silently replaced by one: guessing a zone would give a wrong answer
//! that looks right.

use berth_plugin_sdk::ToolError;
use jiff::tz::{Offset, TimeZone};

/// The most suggestions an unknown-zone error lists.
const MAX_SUGGESTIONS: usize = 5;

/// The time zone named `name`: an IANA name (`Europe/Paris`, case-insensitive), `UTC`, `Z`, or a
/// fixed offset (`+05:30`, `-0800`, `+09`).
pub(crate) fn zone(name: &str) -> Result<TimeZone, ToolError> {
    let name = name.trim();
    if name.eq_ignore_ascii_case("z") {
        return Ok(TimeZone::UTC);
    }
    if name.starts_with(['+', '-']) {
        return fixed_offset(name).map(TimeZone::fixed).ok_or_else(|| {
            ToolError::result(format!(
                "`{name}` is not a UTC offset: write it as `+HH:MM`, `+HHMM` or `+HH`, \
                 between -25:59 and +25:59"
            ))
        });
    }
    TimeZone::get(name).map_err(|_| {
        let suggestions = suggest(name);
        let hint = if suggestions.is_empty() {
            "use an IANA name such as `America/New_York`, `UTC`, or an offset like `+05:30`"
                .to_owned()
        } else {
            format!("did you mean {}?", suggestions.join(", "))
        };
        ToolError::result(format!("unknown time zone `{name}`: {hint}"))
    })
}

/// The name to show for `tz`: its IANA name, or its offset for a fixed-offset zone.
pub(crate) fn label(tz: &TimeZone, at: jiff::Timestamp) -> String {
    match tz.iana_name() {
        Some(name) => name.to_owned(),
        None => offset_text(tz.to_offset(at)),
    }
}

/// `offset` as `±HH:MM` (or `±HH:MM:SS` for the odd historical offset). jiff's own `Display`
/// shortens `+02:00` to `+02`, which RFC 3339 does not allow.
pub(crate) fn offset_text(offset: Offset) -> String {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.unsigned_abs();
    let (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if rest == 0 {
        format!("{sign}{hours:02}:{minutes:02}")
    } else {
        format!("{sign}{hours:02}:{minutes:02}:{rest:02}")
    }
}

/// Parses `±HH`, `±HHMM` or `±HH:MM`.
fn fixed_offset(text: &str) -> Option<Offset> {
    let (sign, digits) = match text.split_at(1) {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let digits = digits.replacen(':', "", 1);
    if !matches!(digits.len(), 2 | 4) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    if hours > 25 || minutes > 59 {
        return None;
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// IANA names that `name` may have meant: those whose last part is `name` (`Paris`), then those
/// that contain it, ignoring case and treating spaces as underscores (`new york`).
fn suggest(name: &str) -> Vec<String> {
    let needle = name.to_ascii_lowercase().replace(' ', "_");
    if needle.len() < 3 {
        return Vec::new();
    }
    let names: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.as_str().to_owned())
        .collect();
    let last_part = |candidate: &String| {
        candidate
            .rsplit('/')
            .next()
            .is_some_and(|last| last.eq_ignore_ascii_case(&needle))
    };
    let mut found: Vec<String> = names.iter().filter(|c| last_part(c)).cloned().collect();
    for candidate in &names {
        if found.len() >= MAX_SUGGESTIONS {
            break;
        }
        if !found.contains(candidate) && candidate.to_ascii_lowercase().contains(&needle) {
            found.push(candidate.clone());
        }
    }
    found.truncate(MAX_SUGGESTIONS);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_utc_and_offsets_resolve() {
        assert_eq!(
            zone("Europe/Paris").unwrap().iana_name(),
            Some("Europe/Paris")
        );
        assert_eq!(
            zone("america/new_york").unwrap().iana_name(),
            Some("America/New_York")
        );
        assert_eq!(zone("UTC").unwrap().iana_name(), Some("UTC"));
        assert_eq!(zone("Z").unwrap(), TimeZone::UTC);
        let india = zone("+05:30").unwrap();
        assert_eq!(label(&india, jiff::Timestamp::UNIX_EPOCH), "+05:30");
        assert_eq!(
            zone("-0800")
                .unwrap()
                .to_offset(jiff::Timestamp::UNIX_EPOCH),
            Offset::from_seconds(-8 * 3600).unwrap()
        );
        assert_eq!(
            offset_text(Offset::from_seconds(-(3600 + 75)).unwrap()),
            "-01:01:15"
        );
        assert!(zone("+5").is_err());
        assert!(zone("+26:00").is_err());
    }

    #[test]
    fn unknown_names_come_with_suggestions() {
        let error = zone("Paris").unwrap_err();
        assert!(
            error.message().contains("did you mean Europe/Paris?"),
            "{}",
            error.message()
        );
        let error = zone("new york").unwrap_err();
        assert!(
            error.message().contains("America/New_York"),
            "{}",
            error.message()
        );
        let error = zone("Nowhere/Atlantis").unwrap_err();
        assert!(
            error.message().contains("use an IANA name"),
            "{}",
            error.message()
        );
    }
}
