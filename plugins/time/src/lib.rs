//! `time`: a Berth plugin for the current time, time zone conversion, calendar arithmetic and
//! lenient datetime parsing.
//!
//! An example plugin written with `berth-plugin-sdk` the way a third party would. It uses
//! `jiff` with the IANA time zone database compiled in (the component has no filesystem), and
//! the WASI wall clock, which the host grants every plugin, for `now`. Every datetime argument
//! is read the same lenient way (see `interpret`), and every instant in a result is a
//! [`Moment`] with all its usual spellings.
//!
//! Errors: input the model can fix (an unknown zone, an unreadable date, a bad duration) comes
//! back as a tool result with `is-error`, with suggestions where there are some.
//!
//! # Layout
//! - `zone`: time zones by name, with suggestions for unknown names.
//! - `interpret`: reading datetimes in many formats.
//! - `moment`: the representation of an instant in results.

use berth_plugin_sdk::prelude::*;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, Unit};

mod interpret;
mod moment;
mod zone;

use interpret::{Options, Reading};
use moment::Moment;

/// Arguments of `now`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NowArgs {
    /// The time zone: an IANA name (`Europe/Paris`), `UTC`, or an offset (`+05:30`).
    /// Default UTC.
    zone: Option<String>,
}

/// The current date and time in a time zone (default UTC): ISO 8601, RFC 3339, unix seconds,
/// weekday, offset and whether daylight saving time is in effect.
#[tool(title = "Current time", read_only)]
fn now(#[args] args: NowArgs) -> Result<Moment, ToolError> {
    let tz = zone::zone(args.zone.as_deref().unwrap_or("UTC"))?;
    // Whole seconds: the clock's nanoseconds are noise to a reader, and they make every
    // representation of the answer longer.
    let now = Timestamp::from_second(Timestamp::now().as_second())
        .map_err(|error| ToolError::failed(format!("reading the clock: {error}")))?;
    Ok(Moment::from(&now.to_zoned_datetime(tz)))
}

/// Arguments of `convert`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ConvertArgs {
    /// The datetime: ISO 8601 (`2024-06-01T14:30`, optionally with `Z`, an offset or
    /// `[Zone]`), RFC 2822, unix seconds, `now`, or a written date like `June 1, 2024 2:30 PM`.
    datetime: String,
    /// The zone `datetime` is in, if it does not say. Default UTC.
    from: Option<String>,
    /// The zones to convert to (1 to 50).
    #[schemars(length(min = 1, max = 50))]
    to: Vec<String>,
}

/// The result of `convert`.
#[derive(Debug, Serialize, JsonSchema)]
struct Converted {
    /// The datetime as read, in its own zone.
    source: Moment,
    /// The same instant in each requested zone, in order.
    conversions: Vec<Moment>,
    /// How the datetime was read, e.g. `RFC 3339`.
    read_as: String,
    /// Remarks, such as how a local time skipped by daylight saving was read.
    notes: Vec<String>,
}

/// Converts a datetime from one time zone to others (IANA names, UTC or offsets), with daylight
/// saving time applied for each zone at that instant.
#[tool(title = "Convert between time zones", read_only, idempotent)]
fn convert(#[args] args: ConvertArgs) -> Result<Converted, ToolError> {
    if args.to.is_empty() || args.to.len() > 50 {
        return Err(ToolError::invalid_arguments("`to` must name 1 to 50 zones"));
    }
    let reading = read_datetime(&args.datetime, args.from.as_deref())?;
    let conversions = args
        .to
        .iter()
        .map(|name| {
            let tz = zone::zone(name)?;
            Ok(Moment::from(&reading.datetime.with_time_zone(tz)))
        })
        .collect::<Result<Vec<_>, ToolError>>()?;
    Ok(Converted {
        source: Moment::from(&reading.datetime),
        conversions,
        read_as: reading.read_as,
        notes: reading.notes,
    })
}

/// Arguments of `add`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddArgs {
    /// The starting datetime, in any form `convert` accepts (e.g. `2024-01-31`, `now`).
    datetime: String,
    /// The zone of `datetime` if it does not say, and of the calendar used. Default UTC.
    zone: Option<String>,
    /// What to add: ISO 8601 (`P1M2DT3H`, `-P1W`) or words (`3 days`, `1 month 2 days`,
    /// `2h 30m`, `1 week ago`).
    duration: String,
    /// Subtract the duration instead of adding it. Default false.
    subtract: Option<bool>,
}

/// The result of `add`.
#[derive(Debug, Serialize, JsonSchema)]
struct Added {
    /// The starting datetime.
    start: Moment,
    /// The duration that was applied, in ISO 8601 (negative when subtracted).
    duration: String,
    /// The resulting datetime.
    result: Moment,
    /// Remarks, such as a day of the month clamped to the month's end.
    notes: Vec<String>,
}

/// Adds or subtracts a duration (ISO 8601 like `P1DT2H`, or words like `3 days`) to a datetime,
/// with calendar awareness: months and years keep the day of the month (clamped to the month's
/// end), and days keep the local time across daylight saving changes.
#[tool(title = "Date arithmetic", read_only, idempotent)]
fn add(#[args] args: AddArgs) -> Result<Added, ToolError> {
    let span: Span = args.duration.trim().parse().map_err(|error| {
        ToolError::result(format!(
            "could not read the duration `{}`: {error}; use ISO 8601 (`P1DT2H`) or words \
             (`3 days 4 hours`)",
            args.duration
        ))
    })?;
    let span = if args.subtract.unwrap_or(false) {
        span.negate()
    } else {
        span
    };
    let reading = read_datetime(&args.datetime, args.zone.as_deref())?;
    let start = &reading.datetime;
    let result = start
        .checked_add(span)
        .map_err(|error| ToolError::result(format!("cannot add {span} to {start}: {error}")))?;
    let mut notes = reading.notes;
    let calendar = span.get_years() != 0 || span.get_months() != 0;
    if calendar && result.day() < start.day() {
        notes.push(format!(
            "day {} does not exist in {}, so the result is the last day of that month",
            start.day(),
            result.strftime("%B %Y")
        ));
    }
    Ok(Added {
        start: Moment::from(start),
        duration: span.to_string(),
        result: Moment::from(&result),
        notes,
    })
}

/// Units for a difference, largest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Largest {
    /// Years, months, days and time.
    Years,
    /// Months, days and time.
    Months,
    /// Weeks, days and time.
    Weeks,
    /// Days and time.
    Days,
    /// Hours, minutes and seconds.
    Hours,
    /// Minutes and seconds.
    Minutes,
    /// Seconds.
    Seconds,
}

impl From<Largest> for Unit {
    fn from(largest: Largest) -> Unit {
        match largest {
            Largest::Years => Unit::Year,
            Largest::Months => Unit::Month,
            Largest::Weeks => Unit::Week,
            Largest::Days => Unit::Day,
            Largest::Hours => Unit::Hour,
            Largest::Minutes => Unit::Minute,
            Largest::Seconds => Unit::Second,
        }
    }
}

/// Arguments of `difference`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DifferenceArgs {
    /// The earlier datetime, in any form `convert` accepts.
    start: String,
    /// The later datetime (if it is earlier, the difference is negative).
    end: String,
    /// The zone of `start` and `end` if they do not say, and of the calendar used. Default UTC.
    zone: Option<String>,
    /// The largest unit of the broken-down difference. Default `years`.
    largest_unit: Option<Largest>,
}

/// The result of `difference`.
#[derive(Debug, Serialize, JsonSchema)]
struct Difference {
    /// The start, as read.
    start: Moment,
    /// The end, as read.
    end: Moment,
    /// The difference broken down into calendar units, in ISO 8601, e.g. `P1Y2M3DT4H`.
    iso8601: String,
    /// The same in words, e.g. `1y 2mo 3d 4h`.
    friendly: String,
    /// The whole difference in each unit, with fractions (days are calendar days, so a day
    /// across a daylight saving change is still 1).
    totals: Totals,
    /// Remarks about how the datetimes were read.
    notes: Vec<String>,
}

/// A difference expressed wholly in one unit at a time.
#[derive(Debug, Serialize, JsonSchema)]
struct Totals {
    /// In years.
    years: f64,
    /// In months.
    months: f64,
    /// In weeks.
    weeks: f64,
    /// In days.
    days: f64,
    /// In hours.
    hours: f64,
    /// In minutes.
    minutes: f64,
    /// In seconds.
    seconds: f64,
}

/// The time between two datetimes: broken down into years, months, days and time (ISO 8601 and
/// in words), and in total in each unit from years to seconds, using the calendar of a zone.
#[tool(title = "Time between two datetimes", read_only, idempotent)]
fn difference(#[args] args: DifferenceArgs) -> Result<Difference, ToolError> {
    let start = read_datetime(&args.start, args.zone.as_deref())?;
    let end = read_datetime(&args.end, args.zone.as_deref())?;
    // Both in the start's zone, so that days and months follow one calendar.
    let (from, to) = (
        &start.datetime,
        &end.datetime
            .with_time_zone(start.datetime.time_zone().clone()),
    );
    let largest = Unit::from(args.largest_unit.unwrap_or(Largest::Years));
    let failed =
        |error: jiff::Error| ToolError::failed(format!("computing the difference: {error}"));
    let span = from.until((largest, to)).map_err(failed)?;
    let total = |unit: Unit| span.total((unit, from)).map_err(failed);
    let totals = Totals {
        years: total(Unit::Year)?,
        months: total(Unit::Month)?,
        weeks: total(Unit::Week)?,
        days: total(Unit::Day)?,
        hours: total(Unit::Hour)?,
        minutes: total(Unit::Minute)?,
        seconds: total(Unit::Second)?,
    };
    let mut notes = start.notes;
    notes.extend(end.notes);
    Ok(Difference {
        start: Moment::from(&start.datetime),
        end: Moment::from(&end.datetime),
        iso8601: span.to_string(),
        friendly: format!("{span:#}"),
        totals,
        notes,
    })
}

/// Arguments of `parse`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ParseArgs {
    /// The text to read, e.g. `2024-06-01 14:30`, `June 1, 2024 2:30 PM Europe/Paris`,
    /// `Sat, 01 Jun 2024 14:30:00 +0200`, `1717245000`, `01.06.2024`, `tomorrow`.
    text: String,
    /// The zone to read a local time in, and to show the result in. Default UTC for local
    /// times; a text with its own zone or offset is shown in that.
    zone: Option<String>,
    /// A strptime format to use instead of guessing, e.g. `%d/%m/%Y %H:%M`.
    format: Option<String>,
    /// For dates with slashes that read both ways: true for day first (`31/12/2024`), false
    /// for month first (`12/31/2024`).
    day_first: Option<bool>,
}

/// The result of `parse`.
#[derive(Debug, Serialize, JsonSchema)]
struct Parsed {
    /// The datetime that was read.
    moment: Moment,
    /// How the text was read, e.g. `RFC 2822` or `strptime "%B %d, %Y %I:%M %p"`.
    read_as: String,
    /// True when the text had no zone or offset and no `zone` was given, so UTC was assumed.
    zone_assumed: bool,
    /// Remarks, such as how a local time skipped by daylight saving was read.
    notes: Vec<String>,
}

/// Reads a datetime written in a common format (ISO 8601, RFC 2822, unix time, `June 1, 2024
/// 2:30 PM`, `01.06.2024`, `tomorrow`, …) and returns it in ISO 8601 with its zone, and more.
#[tool(title = "Parse a datetime", read_only)]
fn parse(#[args] args: ParseArgs) -> Result<Parsed, ToolError> {
    let tz = args.zone.as_deref().map(zone::zone).transpose()?;
    let options = Options {
        zone: tz.as_ref(),
        format: args.format.as_deref(),
        day_first: args.day_first,
    };
    let reading = interpret::read(&args.text, &options)?;
    Ok(Parsed {
        moment: Moment::from(&reading.datetime),
        read_as: reading.read_as,
        zone_assumed: reading.zone_assumed,
        notes: reading.notes,
    })
}

/// Reads `text` with the zone named `zone_name`, if any.
fn read_datetime(text: &str, zone_name: Option<&str>) -> Result<Reading, ToolError> {
    let tz: Option<TimeZone> = zone_name.map(zone::zone).transpose()?;
    let options = Options {
        zone: tz.as_ref(),
        ..Options::default()
    };
    interpret::read(text, &options)
}

berth_plugin_sdk::export!(name: "time", tools: [now, convert, add, difference, parse]);

#[cfg(test)]
mod tests {
    use super::*;
    use berth_plugin_sdk::serde_json::{Value, json};

    fn structured(tool: &str, arguments: Value) -> Value {
        let result = berth_plugin().call(tool, arguments).unwrap();
        assert!(!result.is_error, "{tool}: {}", result.text());
        result.structured_json().unwrap()
    }

    fn tool_error(tool: &str, arguments: Value) -> String {
        let result = berth_plugin().call(tool, arguments).unwrap();
        assert!(
            result.is_error,
            "{tool} should have failed: {}",
            result.text()
        );
        result.text()
    }

    #[test]
    fn the_manifest_is_valid() {
        let plugin = berth_plugin();
        assert_eq!(plugin.validate(), Ok(()));
        let manifest = plugin.manifest();
        assert_eq!(manifest.name, "time");
        let names: Vec<&str> = manifest.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["now", "convert", "add", "difference", "parse"]);
        assert!(manifest.tools.iter().all(|t| t.output_schema.is_some()));
    }

    #[test]
    fn now_is_now_in_the_zone() {
        let moment = structured("now", json!({"zone": "Asia/Tokyo"}));
        assert_eq!(moment["zone"], "Asia/Tokyo");
        assert_eq!(moment["offset"], "+09:00");
        assert!(!moment["time"].as_str().unwrap().contains('.'), "{moment}");
        let drift = Timestamp::now().as_second() - moment["unix_seconds"].as_i64().unwrap();
        assert!((0..60).contains(&drift), "{drift}");
        assert_eq!(structured("now", json!({}))["zone"], "UTC");
        assert!(tool_error("now", json!({"zone": "Tokio"})).contains("unknown time zone"));
    }

    #[test]
    fn convert_applies_each_zones_rules() {
        let converted = structured(
            "convert",
            json!({"datetime": "2024-01-15 09:00", "from": "America/New_York",
                   "to": ["Europe/London", "Australia/Sydney", "+05:30"]}),
        );
        assert_eq!(converted["source"]["rfc3339"], "2024-01-15T09:00:00-05:00");
        let times: Vec<&str> = converted["conversions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["rfc3339"].as_str().unwrap())
            .collect();
        assert_eq!(
            times,
            [
                "2024-01-15T14:00:00+00:00",
                "2024-01-16T01:00:00+11:00",
                "2024-01-15T19:30:00+05:30"
            ]
        );
        assert_eq!(converted["conversions"][1]["dst"], true);
    }

    #[test]
    fn add_is_calendar_aware() {
        let added = structured(
            "add",
            json!({"datetime": "2024-01-31", "duration": "1 month", "zone": "UTC"}),
        );
        assert_eq!(added["result"]["date"], "2024-02-29");
        assert!(
            added["notes"][0].as_str().unwrap().contains("last day"),
            "{added}"
        );
        // A day across the spring-forward change keeps the wall-clock time (23 real hours).
        let added = structured(
            "add",
            json!({"datetime": "2024-03-30T12:00", "zone": "Europe/Paris", "duration": "P1D"}),
        );
        assert_eq!(
            added["result"]["datetime"],
            "2024-03-31T12:00:00+02:00[Europe/Paris]"
        );
        let subtracted = structured(
            "add",
            json!({"datetime": "2024-03-01T00:00Z", "duration": "1 day 2 hours", "subtract": true}),
        );
        assert_eq!(subtracted["result"]["utc"], "2024-02-28T22:00:00Z");
        assert_eq!(subtracted["duration"], "-P1DT2H");
        assert!(
            tool_error("add", json!({"datetime": "now", "duration": "a while"}))
                .contains("could not read the duration")
        );
    }

    #[test]
    fn difference_breaks_down_and_totals() {
        let difference = structured(
            "difference",
            json!({"start": "2024-01-01", "end": "2025-03-15T06:00", "zone": "UTC"}),
        );
        assert_eq!(difference["iso8601"], "P1Y2M14DT6H");
        assert_eq!(difference["friendly"], "1y 2mo 14d 6h");
        assert_eq!(difference["totals"]["days"], 439.25);
        assert_eq!(difference["totals"]["hours"], 10542.0);
        let in_days = structured(
            "difference",
            json!({"start": "2024-03-30T12:00", "end": "2024-03-31T12:00",
                   "zone": "Europe/Paris", "largest_unit": "hours"}),
        );
        assert_eq!(in_days["iso8601"], "PT23H");
        assert_eq!(in_days["totals"]["days"], 1.0);
    }

    #[test]
    fn parse_reports_how_it_read() {
        let parsed = structured(
            "parse",
            json!({"text": "June 1, 2024 2:30 PM", "zone": "America/Chicago"}),
        );
        assert_eq!(
            parsed["moment"]["datetime"],
            "2024-06-01T14:30:00-05:00[America/Chicago]"
        );
        assert_eq!(parsed["read_as"], "strptime \"%B %d, %Y %I:%M %p\"");
        assert_eq!(parsed["zone_assumed"], false);
        let parsed = structured("parse", json!({"text": "2024-06-01 14:30"}));
        assert_eq!(parsed["zone_assumed"], true);
        assert!(tool_error("parse", json!({"text": "01/02/2024"})).contains("day_first"));
    }
}
