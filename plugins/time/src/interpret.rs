//! Reading datetimes leniently: ISO 8601 / RFC 3339 / RFC 9557, RFC 2822, unix timestamps,
//! the common written forms (`June 1, 2024 3:30 PM`, `01.06.2024 14:00`), a few keywords, or a
//! caller's own `strptime` format.
//!
//! Every tool reads its datetimes here, so they all accept the same inputs. A datetime with its
//! own zone or offset keeps that instant; one without is placed in the caller's zone (UTC by
//! default), and the reading says so. Local times that a zone skips or repeats (daylight saving
//! transitions) are resolved the way RFC 5545 and Temporal do, with a note. Dates like
//! `01/02/2024` that read differently day-first and month-first are refused unless the caller
//! says which, rather than guessed.

use berth_plugin_sdk::ToolError;
use jiff::civil::{Date, DateTime, Time};
use jiff::fmt::strtime::{self, BrokenDownTime};
use jiff::fmt::temporal::Pieces;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan, ZonedDateTime};

use crate::zone::{label, zone};

/// How to read a datetime.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options<'a> {
    /// The zone the caller named: local times are placed in it, and results are shown in it.
    pub zone: Option<&'a TimeZone>,
    /// A `strptime` format to use instead of guessing.
    pub format: Option<&'a str>,
    /// For dates with slashes: day first (`31/12/2024`) or month first (`12/31/2024`).
    pub day_first: Option<bool>,
}

/// A datetime as it was read.
#[derive(Debug, Clone)]
pub(crate) struct Reading {
    /// The instant, in the caller's zone if one was given, else in the text's own.
    pub datetime: ZonedDateTime,
    /// How the text was read, e.g. `RFC 3339` or `strptime "%d.%m.%Y %H:%M"`.
    pub read_as: String,
    /// Whether the text had no zone or offset, so it was placed in the caller's zone (or UTC).
    pub zone_assumed: bool,
    /// Anything the caller should know, such as how a daylight saving gap was resolved.
    pub notes: Vec<String>,
}

/// Written date forms without slashes, tried in order.
const DATE_FORMATS: &[&str] = &[
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%B %d, %Y",
    "%B %d %Y",
    "%b %d, %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%A, %B %d, %Y",
    "%a, %b %d, %Y",
    "%A %d %B %Y",
    "%A, %d %B %Y",
    "%a %d %b %Y",
    "%a, %d %b %Y",
];

/// Dates with slashes, which read both ways: (format, whether it is day first).
const SLASH_FORMATS: [(&str, bool); 2] = [("%m/%d/%Y", false), ("%d/%m/%Y", true)];

/// Times of day that may follow a date (the empty one for a date alone).
const TIME_FORMATS: &[&str] = &[
    "",
    " %H:%M",
    " %H:%M:%S",
    " %I:%M %p",
    " %I:%M:%S %p",
    " %I:%M%p",
    " %I %p",
    " %I%p",
    ", %H:%M",
    ", %H:%M:%S",
    ", %I:%M %p",
    ", %I%p",
    " at %H:%M",
    " at %I:%M %p",
    " at %I%p",
];

/// Reads `text` as a datetime; see the module documentation for what is accepted.
pub(crate) fn read(text: &str, options: &Options) -> Result<Reading, ToolError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ToolError::result("the datetime is empty"));
    }
    if let Some(format) = options.format {
        let parsed = strtime::parse(format, text).map_err(|error| {
            ToolError::result(format!(
                "`{text}` does not match the format `{format}`: {error}"
            ))
        })?;
        return from_broken_down(&parsed, None, options, format!("strptime {format:?}"));
    }
    if let Some(reading) = keyword(text, options)? {
        return Ok(reading);
    }
    if let Some(reading) = unix(text, options)? {
        return Ok(reading);
    }
    if let Ok(pieces) = Pieces::parse(text) {
        return from_pieces(text, &pieces, None, options);
    }
    if let Ok(zdt) = jiff::fmt::rfc2822::parse(text) {
        return Ok(shown(zdt, options, "RFC 2822", false, Vec::new()));
    }
    if let Some(reading) = written(text, None, options)? {
        return Ok(reading);
    }
    // A zone at the end, as in `June 1, 2024 15:00 Europe/Paris` or `2024-06-01 15:00 UTC`.
    if let Some((rest, last)) = text.rsplit_once(' ')
        && let Ok(tz) = zone(last)
    {
        let rest = rest.trim_end();
        if let Ok(pieces) = Pieces::parse(rest)
            && pieces.offset().is_none()
            && pieces.time_zone_annotation().is_none()
        {
            return from_pieces(rest, &pieces, Some(tz), options);
        }
        if let Some(reading) = written(rest, Some(tz), options)? {
            return Ok(reading);
        }
    }
    Err(ToolError::result(format!(
        "could not read `{text}` as a datetime: use ISO 8601 (`2024-06-01T14:30:00`, with `Z`, \
         an offset like `+02:00` or a zone like `[Europe/Paris]` if known), RFC 2822, unix \
         seconds, a written date like `June 1, 2024 2:30 PM`, or give `format` (strptime)"
    )))
}

/// `now`, `today`, `tomorrow` and `yesterday`, in the caller's zone (or UTC).
fn keyword(text: &str, options: &Options) -> Result<Option<Reading>, ToolError> {
    let days = match text.to_ascii_lowercase().as_str() {
        "now" => None,
        "today" => Some(0),
        "tomorrow" => Some(1),
        "yesterday" => Some(-1),
        _ => return Ok(None),
    };
    let tz = options.zone.cloned().unwrap_or(TimeZone::UTC);
    let now = Timestamp::now().to_zoned_datetime(tz);
    let datetime = match days {
        None => now,
        Some(days) => now
            .start_of_day()
            .and_then(|start| start.checked_add(days.days()))
            .map_err(|error| ToolError::failed(format!("computing `{text}`: {error}")))?,
    };
    Ok(Some(Reading {
        datetime,
        read_as: format!("keyword `{}`", text.to_ascii_lowercase()),
        zone_assumed: options.zone.is_none(),
        notes: Vec::new(),
    }))
}

/// Unix timestamps: `@` and seconds, or a bare count of 10 digits (seconds) or 13 (milliseconds).
/// Other bare numbers are left to the other readers (`20240601` is a date).
fn unix(text: &str, options: &Options) -> Result<Option<Reading>, ToolError> {
    let (digits, explicit) = match text.strip_prefix('@') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let (timestamp, read_as) = match (explicit, unsigned.len()) {
        (true, _) | (false, 10) => (
            digits
                .parse()
                .ok()
                .and_then(|s| Timestamp::from_second(s).ok()),
            "unix seconds",
        ),
        (false, 13) => (
            digits
                .parse()
                .ok()
                .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
            "unix milliseconds",
        ),
        _ => return Ok(None),
    };
    let timestamp = timestamp
        .ok_or_else(|| ToolError::result(format!("`{text}` is out of the supported range")))?;
    let tz = options.zone.cloned().unwrap_or(TimeZone::UTC);
    Ok(Some(Reading {
        datetime: timestamp.to_zoned_datetime(tz),
        read_as: read_as.to_owned(),
        // A timestamp is an instant: no zone was needed to read it, whatever it is shown in.
        zone_assumed: false,
        notes: Vec::new(),
    }))
}

/// An ISO 8601 / RFC 3339 / RFC 9557 reading. `trailing` is a zone that followed the text.
fn from_pieces(
    text: &str,
    pieces: &Pieces,
    trailing: Option<TimeZone>,
    options: &Options,
) -> Result<Reading, ToolError> {
    let civil = pieces
        .date()
        .to_datetime(pieces.time().unwrap_or(Time::midnight()));
    if pieces.time_zone_annotation().is_some() {
        // jiff checks that an offset, if any, agrees with the named zone.
        let zdt: ZonedDateTime = text
            .parse()
            .map_err(|error| ToolError::result(format!("could not read `{text}`: {error}")))?;
        return Ok(shown(zdt, options, "RFC 9557", false, Vec::new()));
    }
    if let Some(offset) = pieces.to_numeric_offset() {
        let zdt = civil
            .to_zoned_datetime(TimeZone::fixed(offset))
            .map_err(|error| ToolError::result(format!("could not read `{text}`: {error}")))?;
        // `Z` means UTC, which deserves its name rather than `+00:00`.
        let zdt = if offset == jiff::tz::Offset::UTC {
            zdt.with_time_zone(TimeZone::UTC)
        } else {
            zdt
        };
        return Ok(shown(zdt, options, "RFC 3339", false, Vec::new()));
    }
    let read_as = if pieces.time().is_some() {
        "ISO 8601 local date and time"
    } else {
        "ISO 8601 date"
    };
    place(civil, trailing, options, read_as.to_owned())
}

/// Tries the written forms on `text`; `trailing` is a zone that followed it.
fn written(
    text: &str,
    trailing: Option<TimeZone>,
    options: &Options,
) -> Result<Option<Reading>, ToolError> {
    for date in DATE_FORMATS {
        for time in TIME_FORMATS {
            let format = format!("{date}{time}");
            if let Ok(parsed) = strtime::parse(&format, text) {
                let reading = from_broken_down(
                    &parsed,
                    trailing.clone(),
                    options,
                    format!("strptime {format:?}"),
                );
                // A weekday that contradicts the date fails here: try the other forms.
                if reading.is_ok() {
                    return reading.map(Some);
                }
            }
        }
    }

    // Slashed dates: both orders are tried, and a date that reads both ways needs `day_first`.
    let mut readings: Vec<(bool, String, DateTime)> = Vec::new();
    for (date, day_first) in SLASH_FORMATS {
        if options.day_first.is_some_and(|wanted| wanted != day_first) {
            continue;
        }
        for time in TIME_FORMATS {
            let format = format!("{date}{time}");
            if let Ok(civil) = strtime::parse(&format, text).and_then(|p| civil(&p)) {
                readings.push((day_first, format, civil));
                break;
            }
        }
    }
    match readings.as_slice() {
        [] => Ok(None),
        [(_, format, civil)] => {
            place(*civil, trailing, options, format!("strptime {format:?}")).map(Some)
        }
        [(_, _, a), (_, _, b), ..] if a == b => {
            let (_, format, civil) = &readings[0];
            place(*civil, trailing, options, format!("strptime {format:?}")).map(Some)
        }
        [(_, _, month_first), (_, _, day_first), ..] => Err(ToolError::result(format!(
            "`{text}` is ambiguous: {} month first, or {} day first; set `day_first`",
            month_first.date(),
            day_first.date()
        ))),
    }
}

/// A `strptime` result: an instant if it has an offset or zone, else a local time to place.
fn from_broken_down(
    parsed: &BrokenDownTime,
    trailing: Option<TimeZone>,
    options: &Options,
    read_as: String,
) -> Result<Reading, ToolError> {
    if parsed.offset().is_some() || parsed.iana_time_zone().is_some() {
        let zdt = parsed
            .to_zoned_datetime()
            .map_err(|error| ToolError::result(format!("could not read the datetime: {error}")))?;
        return Ok(shown(zdt, options, &read_as, false, Vec::new()));
    }
    let civil = civil(parsed)
        .map_err(|error| ToolError::result(format!("could not read the datetime: {error}")))?;
    place(civil, trailing, options, read_as)
}

/// The local date and time a `strptime` result holds; midnight if it has no time.
fn civil(parsed: &BrokenDownTime) -> Result<DateTime, jiff::Error> {
    if parsed.hour().is_some() {
        parsed.to_datetime()
    } else {
        parsed
            .to_date()
            .map(|date: Date| date.to_datetime(Time::midnight()))
    }
}

/// Places local time `civil` in `source` (a zone that came with the text), else in the
/// caller's zone, else in UTC, resolving a skipped or repeated local time with a note.
fn place(
    civil: DateTime,
    source: Option<TimeZone>,
    options: &Options,
    read_as: String,
) -> Result<Reading, ToolError> {
    let assumed = source.is_none() && options.zone.is_none();
    let tz = source
        .or_else(|| options.zone.cloned())
        .unwrap_or(TimeZone::UTC);
    let ambiguous = tz.to_ambiguous_zoned_datetime(civil);
    let mut notes = Vec::new();
    let name = label(&tz, Timestamp::UNIX_EPOCH);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { .. } => {}
        AmbiguousOffset::Gap { before, after } => notes.push(format!(
            "{civil} does not exist in {name}: the clocks move from {before} to {after} then; \
             it was read with the earlier offset, {before}, as RFC 5545 does"
        )),
        AmbiguousOffset::Fold { before, after } => notes.push(format!(
            "{civil} happens twice in {name}: at offset {before}, then again at {after}; the \
             first was used"
        )),
    }
    let zdt = ambiguous.compatible().map_err(|error| {
        ToolError::result(format!("could not place {civil} in {name}: {error}"))
    })?;
    Ok(shown(zdt, options, &read_as, assumed, notes))
}

/// The reading of instant `zdt`, shown in the caller's zone if there is one.
fn shown(
    zdt: ZonedDateTime,
    options: &Options,
    read_as: &str,
    zone_assumed: bool,
    notes: Vec<String>,
) -> Reading {
    let datetime = match options.zone {
        Some(tz) => zdt.with_time_zone(tz.clone()),
        None => zdt,
    };
    Reading {
        datetime,
        read_as: read_as.to_owned(),
        zone_assumed,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_in(text: &str, zone_name: Option<&str>) -> Reading {
        let tz = zone_name.map(|name| zone(name).unwrap());
        let options = Options {
            zone: tz.as_ref(),
            ..Options::default()
        };
        read(text, &options).unwrap_or_else(|e| panic!("{text}: {}", e.message()))
    }

    fn rfc9557(text: &str, zone_name: Option<&str>) -> String {
        read_in(text, zone_name).datetime.to_string()
    }

    #[test]
    fn iso_forms_keep_their_instant() {
        assert_eq!(
            rfc9557("2024-06-01T12:00:00Z", None),
            "2024-06-01T12:00:00+00:00[UTC]"
        );
        assert_eq!(
            rfc9557("2024-06-01T12:00:00+02:00", None),
            "2024-06-01T12:00:00+02:00[+02:00]"
        );
        assert_eq!(
            rfc9557("2024-06-01T12:00:00+02:00", Some("America/New_York")),
            "2024-06-01T06:00:00-04:00[America/New_York]"
        );
        assert_eq!(
            rfc9557("2024-06-01T12:00[Europe/Paris]", None),
            "2024-06-01T12:00:00+02:00[Europe/Paris]"
        );
    }

    #[test]
    fn local_times_go_into_the_callers_zone_or_utc() {
        let reading = read_in("2024-06-01 12:00", None);
        assert!(reading.zone_assumed);
        assert_eq!(
            reading.datetime.to_string(),
            "2024-06-01T12:00:00+00:00[UTC]"
        );
        let reading = read_in("2024-06-01", Some("Asia/Tokyo"));
        assert!(!reading.zone_assumed);
        assert_eq!(reading.read_as, "ISO 8601 date");
        assert_eq!(
            reading.datetime.to_string(),
            "2024-06-01T00:00:00+09:00[Asia/Tokyo]"
        );
    }

    #[test]
    fn written_forms_and_trailing_zones() {
        assert_eq!(
            rfc9557("June 1, 2024 3:30 PM", Some("Europe/London")),
            "2024-06-01T15:30:00+01:00[Europe/London]"
        );
        assert_eq!(
            rfc9557("01.06.2024 14:00", None),
            "2024-06-01T14:00:00+00:00[UTC]"
        );
        assert_eq!(
            rfc9557("Saturday, 1 June 2024", None),
            "2024-06-01T00:00:00+00:00[UTC]"
        );
        let reading = read_in("June 1, 2024 15:00 Europe/Paris", None);
        assert!(!reading.zone_assumed);
        assert_eq!(
            reading.datetime.to_string(),
            "2024-06-01T15:00:00+02:00[Europe/Paris]"
        );
        assert_eq!(
            rfc9557("2024-06-01 15:00 UTC", Some("Asia/Kolkata")),
            "2024-06-01T20:30:00+05:30[Asia/Kolkata]"
        );
    }

    #[test]
    fn rfc2822_and_unix_timestamps() {
        assert_eq!(
            rfc9557("Sat, 01 Jun 2024 12:00:00 +0200", None),
            "2024-06-01T12:00:00+02:00[+02:00]"
        );
        let reading = read_in("1717243200", None);
        assert_eq!(reading.read_as, "unix seconds");
        assert_eq!(
            reading.datetime.to_string(),
            "2024-06-01T12:00:00+00:00[UTC]"
        );
        assert_eq!(read_in("1717243200000", None).read_as, "unix milliseconds");
        assert_eq!(
            read_in("@0", None).datetime.timestamp(),
            Timestamp::UNIX_EPOCH
        );
        // Eight digits are a basic ISO 8601 date, not a timestamp.
        assert_eq!(rfc9557("20240601", None), "2024-06-01T00:00:00+00:00[UTC]");
    }

    #[test]
    fn slashed_dates_need_an_order_only_when_it_matters() {
        assert_eq!(
            rfc9557("13/02/2024", None),
            "2024-02-13T00:00:00+00:00[UTC]"
        );
        assert_eq!(
            rfc9557("02/13/2024", None),
            "2024-02-13T00:00:00+00:00[UTC]"
        );
        let error = read("01/02/2024", &Options::default()).unwrap_err();
        assert!(error.message().contains("ambiguous"), "{}", error.message());
        let options = Options {
            day_first: Some(true),
            ..Options::default()
        };
        let reading = read("01/02/2024 9:15 PM", &options).unwrap();
        assert_eq!(
            reading.datetime.to_string(),
            "2024-02-01T21:15:00+00:00[UTC]"
        );
    }

    #[test]
    fn a_format_is_used_as_given() {
        let options = Options {
            format: Some("%d %m %Y %Hh%M"),
            ..Options::default()
        };
        let reading = read("01 06 2024 14h05", &options).unwrap();
        assert_eq!(
            reading.datetime.to_string(),
            "2024-06-01T14:05:00+00:00[UTC]"
        );
        assert!(read("June", &options).is_err());
    }

    #[test]
    fn skipped_and_repeated_local_times_are_noted() {
        // Paris skipped 02:00-03:00 on 2024-03-31 and repeated 02:00-03:00 on 2024-10-27.
        let gap = read_in("2024-03-31T02:30", Some("Europe/Paris"));
        assert_eq!(
            gap.datetime.to_string(),
            "2024-03-31T03:30:00+02:00[Europe/Paris]"
        );
        assert!(gap.notes[0].contains("does not exist"), "{:?}", gap.notes);
        let fold = read_in("2024-10-27T02:30", Some("Europe/Paris"));
        assert_eq!(
            fold.datetime.to_string(),
            "2024-10-27T02:30:00+02:00[Europe/Paris]"
        );
        assert!(fold.notes[0].contains("happens twice"), "{:?}", fold.notes);
    }

    #[test]
    fn keywords_use_the_clock() {
        let now = read_in("now", Some("Europe/Paris"));
        let elapsed = Timestamp::now().duration_since(now.datetime.timestamp());
        assert!(elapsed.as_secs() < 60);
        let today = read_in("Today", None);
        assert_eq!(today.datetime.time(), Time::midnight());
    }

    #[test]
    fn nonsense_is_refused_with_examples() {
        let error = read("the day after the party", &Options::default()).unwrap_err();
        assert!(error.message().contains("ISO 8601"), "{}", error.message());
    }
}
