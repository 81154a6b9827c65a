//! The `Date` response header: IMF-fixdate (RFC 9110 §5.6.7), formatted
//! from the real-time clock by hand and cached per worker thread.
//!
//! Invariant: the cached text is always the formatting of the whole second
//! it is tagged with, so a response never carries a half-updated date; it is
//! reformatted at most once per second per thread. The cache is a
//! thread-local `Cell` holding plain bytes, which is safe under green
//! threads: nothing borrows it across a yield, so a green thread that moves
//! to another worker just reads that worker's cache.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const DATE_LEN: usize = 29;

/// Last second representable with a four-digit year:
/// 9999-12-31T23:59:59Z.
const MAX_SECS: u64 = 253_402_300_799;

const WEEKDAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

thread_local! {
    /// `(second, its formatting)`; `u64::MAX` marks "never formatted".
    static CACHE: Cell<(u64, [u8; DATE_LEN])> = const { Cell::new((u64::MAX, [0; DATE_LEN])) };
}

/// Appends the current time as an IMF-fixdate to `out`, from the per-thread
/// cache when the second has not changed.
pub(crate) fn append_now(out: &mut Vec<u8>) {
    let secs = unix_secs();
    let text = CACHE.with(|cache| {
        let (cached, text) = cache.get();
        if cached == secs {
            return text;
        }
        let text = imf_fixdate(secs);
        cache.set((secs, text));
        text
    });
    out.extend_from_slice(&text);
}

/// Whole seconds since the Unix epoch. On Linux from the kernel's coarse
/// real-time clock: it is updated every timer tick (at most a few
/// milliseconds behind the precise one, nothing for a header that counts
/// seconds) and read without the time-stamp counter, ~8 ns against ~60 ns
/// for `SystemTime::now` on a virtual machine, once per response.
fn unix_secs() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable `timespec` for the whole call,
        // and clock_gettime writes nothing but it.
        if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0 {
            return u64::try_from(ts.tv_sec).unwrap_or(0);
        }
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Formats `secs` seconds after the Unix epoch (clamped to year 9999) as an
/// IMF-fixdate.
pub(crate) fn imf_fixdate(secs: u64) -> [u8; DATE_LEN] {
    let secs = secs.min(MAX_SECS);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (hour, min, sec) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = ((days + 4) % 7) as usize;

    let mut out = [0u8; DATE_LEN];
    out[0..3].copy_from_slice(WEEKDAYS[weekday]);
    out[3..5].copy_from_slice(b", ");
    two_digits(&mut out[5..7], day);
    out[7] = b' ';
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    out[11] = b' ';
    two_digits(&mut out[12..14], year / 100);
    two_digits(&mut out[14..16], year % 100);
    out[16] = b' ';
    two_digits(&mut out[17..19], hour);
    out[19] = b':';
    two_digits(&mut out[20..22], min);
    out[22] = b':';
    two_digits(&mut out[23..25], sec);
    out[25..29].copy_from_slice(b" GMT");
    out
}

fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// `(year, month 1..=12, day 1..=31)` of the `days`-th day after
/// 1970-01-01 (Howard Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(secs: u64) -> String {
        String::from_utf8(imf_fixdate(secs).to_vec()).unwrap()
    }

    #[test]
    fn known_dates() {
        assert_eq!(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(fmt(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(fmt(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(fmt(951_868_799), "Tue, 29 Feb 2000 23:59:59 GMT");
        assert_eq!(fmt(951_868_800), "Wed, 01 Mar 2000 00:00:00 GMT");
        assert_eq!(fmt(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 GMT");
        assert_eq!(fmt(1_709_164_800), "Thu, 29 Feb 2024 00:00:00 GMT");
        assert_eq!(fmt(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn every_day_round_trips() {
        // Walk day by day from 1970 to 2200 and check the calendar advances
        // one day at a time.
        let (mut y, mut m, mut d) = (1970, 1, 1);
        for days in 0..84_000u64 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn coarse_seconds_agree_with_system_time() {
        let secs = || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        let before = secs();
        let coarse = unix_secs();
        let after = secs();
        // The coarse clock lags the precise one by at most a timer tick.
        assert!(
            before.saturating_sub(1) <= coarse && coarse <= after,
            "{before} {coarse} {after}"
        );
    }

    #[test]
    fn cached_now_is_well_formed() {
        let mut out = Vec::new();
        append_now(&mut out);
        append_now(&mut out);
        assert_eq!(out.len(), 2 * DATE_LEN);
        assert!(out.ends_with(b" GMT"));
    }
}
