//! Inngest time strings (`"1h30m"`, `"500ms"`, `"2d"`) and sleep targets (a time string or an
//! RFC 3339 instant) as milliseconds.

use chrono::DateTime;

/// Parses a duration like `1h30m`, `2s`, `500ms`, `1d`, `1w` into milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" | "" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            "w" => 604_800_000.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add((number * unit).round() as i64)?;
    }
    Some(total)
}

/// When a sleep with `duration` (a time string or an RFC 3339 instant) reported at `now_ms` ends.
pub fn sleep_until_ms(duration: &str, now_ms: i64) -> Option<i64> {
    if let Ok(at) = DateTime::parse_from_rfc3339(duration.trim()) {
        return Some(at.timestamp_millis());
    }
    parse_duration_ms(duration).map(|ms| now_ms.saturating_add(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_durations() {
        assert_eq!(parse_duration_ms("2s"), Some(2_000));
        assert_eq!(parse_duration_ms("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration_ms("1s500ms"), Some(1_500));
        assert_eq!(parse_duration_ms("1d1h1m1s"), Some(90_061_000));
        assert_eq!(parse_duration_ms("1w"), Some(604_800_000));
        assert_eq!(parse_duration_ms("abc"), None);
        assert_eq!(parse_duration_ms(""), None);
    }

    #[test]
    fn sleeps_until_a_duration_or_an_instant() {
        assert_eq!(sleep_until_ms("2s", 1_000), Some(3_000));
        assert_eq!(sleep_until_ms("1970-01-01T00:00:10Z", 0), Some(10_000));
    }
}
