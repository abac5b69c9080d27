//! [`Moment`]: one instant in one time zone, spelled every way a caller may want it.
//!
//! Every tool answers with moments, so the model can pick the representation it needs
//! (an RFC 3339 string for an API, a weekday for a person, unix seconds for arithmetic) without
//! another call.

use jiff::ZonedDateTime;
use jiff::civil::Weekday;
use schemars::JsonSchema;
use serde::Serialize;

use crate::zone::{label, offset_text};

/// An instant in a time zone.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub(crate) struct Moment {
    /// ISO 8601 with the offset and the zone (RFC 9557), e.g.
    /// `2024-06-01T14:00:00+02:00[Europe/Paris]`.
    pub datetime: String,
    /// ISO 8601 with the offset only (RFC 3339), e.g. `2024-06-01T14:00:00+02:00`.
    pub rfc3339: String,
    /// The same instant in UTC (RFC 3339), e.g. `2024-06-01T12:00:00Z`.
    pub utc: String,
    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    pub unix_seconds: i64,
    /// The time zone: an IANA name, or the offset of a fixed-offset zone.
    pub zone: String,
    /// The offset from UTC at this instant, e.g. `+02:00`.
    pub offset: String,
    /// The zone's abbreviation at this instant, e.g. `CEST` (some zones only have numeric
    /// ones, like `+0530`).
    pub abbreviation: String,
    /// Whether daylight saving time is in effect.
    pub dst: bool,
    /// The local date, `YYYY-MM-DD`.
    pub date: String,
    /// The local time of day, `HH:MM:SS` with fractional seconds if any.
    pub time: String,
    /// The day of the week, e.g. `Saturday`.
    pub weekday: String,
    /// The ISO 8601 week date, e.g. `2024-W22-6`.
    pub iso_week: String,
    /// The day of the year, 1 to 366.
    pub day_of_year: i16,
}

impl From<&ZonedDateTime> for Moment {
    fn from(zdt: &ZonedDateTime) -> Self {
        let timestamp = zdt.timestamp();
        let info = zdt.time_zone().to_offset_info(timestamp);
        Moment {
            datetime: zdt.to_string(),
            rfc3339: timestamp.display_with_offset(zdt.offset()).to_string(),
            utc: timestamp.to_string(),
            unix_seconds: timestamp.as_second(),
            zone: label(zdt.time_zone(), timestamp),
            offset: offset_text(zdt.offset()),
            abbreviation: info.abbreviation().to_owned(),
            dst: info.dst().is_dst(),
            date: zdt.date().to_string(),
            time: zdt.time().to_string(),
            weekday: weekday_name(zdt.weekday()).to_owned(),
            iso_week: zdt.iso_week_date().to_string(),
            day_of_year: zdt.day_of_year(),
        }
    }
}

/// The English name of `weekday`.
fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summer_afternoon_in_paris() {
        let zdt: ZonedDateTime = "2024-06-01T14:00:00+02:00[Europe/Paris]".parse().unwrap();
        let moment = Moment::from(&zdt);
        assert_eq!(
            moment,
            Moment {
                datetime: "2024-06-01T14:00:00+02:00[Europe/Paris]".into(),
                rfc3339: "2024-06-01T14:00:00+02:00".into(),
                utc: "2024-06-01T12:00:00Z".into(),
                unix_seconds: 1_717_243_200,
                zone: "Europe/Paris".into(),
                offset: "+02:00".into(),
                abbreviation: "CEST".into(),
                dst: true,
                date: "2024-06-01".into(),
                time: "14:00:00".into(),
                weekday: "Saturday".into(),
                iso_week: "2024-W22-6".into(),
                day_of_year: 153,
            }
        );
    }
}
