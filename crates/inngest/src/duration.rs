//! Inngest time strings (`"1h30m"`, `"2s"`) for durations in configs and step options.

use std::time::Duration;

/// Formats a duration the way Inngest parses it: `1d2h3m4s`, `500ms`, `0s`.
pub fn to_time_string(duration: Duration) -> String {
    let mut millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        let count = millis / size;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push_str(unit);
            millis %= size;
        }
    }
    if millis > 0 {
        out.push_str(&millis.to_string());
        out.push_str("ms");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_compound_durations() {
        assert_eq!(to_time_string(Duration::from_secs(2)), "2s");
        assert_eq!(to_time_string(Duration::from_secs(5400)), "1h30m");
        assert_eq!(to_time_string(Duration::from_secs(90061)), "1d1h1m1s");
        assert_eq!(to_time_string(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(to_time_string(Duration::ZERO), "0s");
    }
}
