//! Calendar dates of exemption expiries, without a date library: `YYYY-MM-DD` to the Unix
//! second at which that UTC day ends.

const SECONDS_PER_DAY: i64 = 86_400;

/// The first second after the UTC day `date` (`YYYY-MM-DD`), or `None` if it is not a real date.
pub fn day_end_unix(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !(digits(y) && digits(m) && digits(d)) {
        return None;
    }
    let (year, month, day): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some((days_from_civil(year, month, day) + 1) * SECONDS_PER_DAY)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds (the inverse of `days_from_civil`, same author).
pub fn rfc3339_from_unix(seconds: i64) -> String {
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::{day_end_unix, rfc3339_from_unix};

    #[test]
    fn timestamps() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (1_801_396_800, "2027-01-31T12:00:00Z"),
            (1_835_481_599, "2028-02-29T23:59:59Z"),
            (-1, "1969-12-31T23:59:59Z"),
        ];
        for (seconds, text) in cases {
            assert_eq!(rfc3339_from_unix(seconds), text);
        }
    }

    #[test]
    fn dates() {
        let cases = [
            ("1970-01-01", Some(86_400)),
            ("2027-01-31", Some(1_801_440_000)),
            ("2028-02-29", Some(1_835_481_600)),
            ("2027-02-29", None),
            ("2027-13-01", None),
            ("2027-1-01", None),
            ("27-01-01", None),
            ("2027-01-01T00:00:00Z", None),
            ("", None),
        ];
        for (date, expected) in cases {
            assert_eq!(day_end_unix(date), expected, "{date}");
        }
    }
}
