//! Cron triggers: `[TZ=<IANA zone> ]<5 or 6 field pattern>`, next occurrence after an instant.

use std::str::FromStr;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// A parsed cron trigger.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    source: String,
    cron: Cron,
    zone: Tz,
}

impl CronSchedule {
    /// Parses `TZ=Europe/Paris 0 9 * * *` or `*/5 * * * *` (UTC).
    pub fn parse(source: &str) -> Result<Self, String> {
        let trimmed = source.trim();
        let (zone, pattern) = match trimmed
            .strip_prefix("TZ=")
            .or_else(|| trimmed.strip_prefix("CRON_TZ="))
        {
            Some(rest) => {
                let (zone, pattern) = rest
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| format!("`{source}` has a timezone but no pattern"))?;
                let zone =
                    Tz::from_str(zone).map_err(|e| format!("unknown timezone `{zone}`: {e}"))?;
                (zone, pattern.trim())
            }
            None => (Tz::UTC, trimmed),
        };
        let cron = Cron::from_str(pattern).map_err(|e| format!("invalid cron `{pattern}`: {e}"))?;
        Ok(Self {
            source: source.to_owned(),
            cron,
            zone,
        })
    }

    /// The trigger as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first occurrence strictly after `after_ms` (unix ms), in unix ms.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let start = Utc
            .timestamp_millis_opt(after_ms)
            .single()?
            .with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&start, false)
            .ok()
            .map(|next| next.timestamp_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn honours_the_timezone() {
        let paris = CronSchedule::parse("TZ=Europe/Paris 0 9 * * *").unwrap();
        // 09:00 in Paris in January is 08:00 UTC.
        assert_eq!(
            paris.next_after(ms("2030-01-15T07:00:00Z")),
            Some(ms("2030-01-15T08:00:00Z"))
        );
        let utc = CronSchedule::parse("*/5 * * * *").unwrap();
        assert_eq!(
            utc.next_after(ms("2030-01-15T07:00:00Z")),
            Some(ms("2030-01-15T07:05:00Z"))
        );
        assert!(CronSchedule::parse("TZ=Mars/Olympus 0 9 * * *").is_err());
        assert!(CronSchedule::parse("nope").is_err());
    }
}
