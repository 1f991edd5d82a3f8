//! The User-Agent classifier behind `reduce_user_agent`: turn a User-Agent
//! header into coarse, non-identifying classes.
//!
//! A full User-Agent string is a strong fingerprint: device model, build id,
//! minor and patch versions and app build numbers narrow a visitor down to a
//! handful of people. This module keeps only what statistics need — the
//! browser family and its major version, the OS family (never its version) and
//! a device class — and every output string comes from a fixed set compiled
//! into this file, so no byte of the input ever reaches the output except the
//! digits of the major version (at most [`MAX_MAJOR_DIGITS`] of them).
//!
//! Classification is a hand-written scan, checked in a fixed order:
//! empty input, bots (crawlers, link expanders, headless browsers), HTTP
//! libraries (`curl/`, `okhttp/`, ...), then the browser. Browsers that embed
//! another browser's token come first: in-app browsers (Instagram, Facebook,
//! WeChat), then Edge, Opera, Samsung Internet and the other Chromium
//! derivatives, then the Android WebView, Chrome, Firefox, IE and finally
//! Safari, whose token every WebKit browser carries.
//!
//! Known limits, by design of the header rather than of this code:
//! - iPadOS 13+ Safari sends a desktop `Macintosh` User-Agent by default; such
//!   an iPad is reported as macOS / desktop because nothing tells them apart.
//! - Android tablets are recognised by the absence of the `Mobile` token;
//!   Android TVs without a TV marker therefore count as tablets.
//! - Bots and HTTP libraries report OS `Other`: what a crawler claims to run on
//!   says nothing about a visitor. `Dalvik/` (Android's built-in HTTP client)
//!   is the one library that reports OS `Android`, with device `other`.
//!
//! [`UserAgentCache`] memoises the serialised reduction per distinct
//! User-Agent, since a handful of strings make up most of the traffic.

mod cache;
mod tables;

pub use self::cache::{UserAgentCache, MAX_CACHED_UA_BYTES};
use self::tables::{BOT_FAMILIES, BOT_MARKERS, EMBEDDING_BROWSERS, LIBRARIES, TV_OR_CONSOLE};

/// At most this many bytes of a User-Agent are inspected; real ones are far
/// shorter, and the bound keeps a hostile multi-megabyte header cheap.
pub const MAX_SCAN_BYTES: usize = 2048;

/// A version number with more digits than this is not a plausible major
/// version (and could smuggle an identifier), so it is reported as unknown.
pub const MAX_MAJOR_DIGITS: usize = 4;

/// Device class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceClass {
    /// Desktop or laptop computer (Windows, macOS, Linux, ChromeOS).
    Desktop,
    /// Phone.
    Mobile,
    /// Tablet (iPad, Android without the `Mobile` token).
    Tablet,
    /// Crawler, link expander or headless browser.
    Bot,
    /// HTTP library, TV, console, or anything unrecognised.
    Other,
}

impl DeviceClass {
    /// The lowercase name used in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceClass::Desktop => "desktop",
            DeviceClass::Mobile => "mobile",
            DeviceClass::Tablet => "tablet",
            DeviceClass::Bot => "bot",
            DeviceClass::Other => "other",
        }
    }
}

/// The coarse classes kept from a User-Agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgentClass {
    /// Browser, app, bot or library family, from a fixed set ("Other" when
    /// unknown).
    pub browser: &'static str,
    /// Major version only; `None` for bots, libraries and unknown versions.
    pub browser_major: Option<u32>,
    /// OS family without version: "Windows", "macOS", "iOS", "iPadOS",
    /// "Android", "Linux", "ChromeOS" or "Other".
    pub os: &'static str,
    /// Device class.
    pub device: DeviceClass,
}

impl UserAgentClass {
    /// The class of an empty or unrecognisable User-Agent.
    pub const OTHER: UserAgentClass = UserAgentClass {
        browser: OTHER,
        browser_major: None,
        os: OTHER,
        device: DeviceClass::Other,
    };

    /// Appends `{"browser":"Chrome","browser_major":"124","os":"Android","device":"mobile"}`
    /// (browser_major is a JSON string, or null when unknown) to `out`.
    ///
    /// The family names are fixed strings without quotes or backslashes, so no
    /// escaping is needed.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"browser\":\"");
        out.extend_from_slice(self.browser.as_bytes());
        out.extend_from_slice(b"\",\"browser_major\":");
        match self.browser_major {
            Some(major) => {
                out.push(b'"');
                write_u32(major, out);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"os\":\"");
        out.extend_from_slice(self.os.as_bytes());
        out.extend_from_slice(b"\",\"device\":\"");
        out.extend_from_slice(self.device.as_str().as_bytes());
        out.extend_from_slice(b"\"}");
    }
}

/// Writes `n` in decimal without allocating beyond `out`'s growth.
fn write_u32(mut n: u32, out: &mut Vec<u8>) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        // `n % 10` is below 10, so the cast cannot truncate.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

const OTHER: &str = "Other";

/// OS as detected; Windows Phone is kept apart only to pick the device class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OsFamily {
    Windows,
    WindowsPhone,
    MacOs,
    Ios,
    IpadOs,
    Android,
    Linux,
    ChromeOs,
    Other,
}

impl OsFamily {
    fn name(self) -> &'static str {
        match self {
            OsFamily::Windows | OsFamily::WindowsPhone => "Windows",
            OsFamily::MacOs => "macOS",
            OsFamily::Ios => "iOS",
            OsFamily::IpadOs => "iPadOS",
            OsFamily::Android => "Android",
            OsFamily::Linux => "Linux",
            OsFamily::ChromeOs => "ChromeOS",
            OsFamily::Other => OTHER,
        }
    }
}

/// Classifies a User-Agent header into coarse classes.
///
/// Never fails: empty, truncated or garbage input yields
/// [`UserAgentClass::OTHER`] or a partial classification.
pub fn classify(ua: &str) -> UserAgentClass {
    let s = ua.trim().as_bytes();
    let s = &s[..s.len().min(MAX_SCAN_BYTES)];
    if s.is_empty() {
        return UserAgentClass::OTHER;
    }
    let mut lower_buf = [0u8; MAX_SCAN_BYTES];
    let lower = &mut lower_buf[..s.len()];
    lower.copy_from_slice(s);
    lower.make_ascii_lowercase();
    let lower = &*lower;

    if let Some(browser) = bot_family(lower) {
        return UserAgentClass {
            browser,
            browser_major: None,
            os: OTHER,
            device: DeviceClass::Bot,
        };
    }
    if let Some((browser, os)) = library_family(lower) {
        return UserAgentClass {
            browser,
            browser_major: None,
            os: os.name(),
            device: DeviceClass::Other,
        };
    }
    let os = detect_os(s, lower);
    let (browser, browser_major) = detect_browser(s, os);
    UserAgentClass { browser, browser_major, os: os.name(), device: detect_device(s, os) }
}

fn bot_family(lower: &[u8]) -> Option<&'static str> {
    let is_bot = has_bot_word(lower) || BOT_MARKERS.iter().any(|m| find(lower, m).is_some());
    if !is_bot {
        return None;
    }
    let family = BOT_FAMILIES
        .iter()
        .find(|(needle, _)| find(lower, needle).is_some())
        .map_or(OTHER, |&(_, family)| family);
    Some(family)
}

/// True when some word ends in "bot" ("Googlebot/", "AhrefsBot;", "robot"),
/// i.e. "bot" not followed by a letter. The phone brand "Cubot" is excluded.
fn has_bot_word(lower: &[u8]) -> bool {
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"bot").map(|p| p + from) {
        let next_is_letter = lower.get(at + 3).is_some_and(u8::is_ascii_lowercase);
        let is_cubot = at >= 2 && &lower[at - 2..at] == b"cu";
        if !next_is_letter && !is_cubot {
            return true;
        }
        from = at + 1;
    }
    false
}

fn library_family(lower: &[u8]) -> Option<(&'static str, OsFamily)> {
    LIBRARIES
        .iter()
        .find(|(prefix, _, _)| lower.starts_with(prefix))
        .map(|&(_, family, os)| (family, os))
}

fn detect_os(s: &[u8], lower: &[u8]) -> OsFamily {
    let has = |t: &[u8]| find(s, t).is_some();
    if has(b"Windows Phone") {
        OsFamily::WindowsPhone
    } else if has(b"iPad") {
        OsFamily::IpadOs
    } else if has(b"iPhone") || has(b"iPod") {
        OsFamily::Ios
    } else if has(b"Android") {
        OsFamily::Android
    } else if has(b"CrOS") {
        OsFamily::ChromeOs
    } else if has(b"Windows") {
        OsFamily::Windows
    } else if has(b"Macintosh") || has(b"Mac OS X") {
        OsFamily::MacOs
    } else if find(lower, b"tizen").is_some() || find(lower, b"bsd").is_some() {
        OsFamily::Other
    } else if has(b"Linux") || has(b"X11") {
        OsFamily::Linux
    } else {
        OsFamily::Other
    }
}

fn detect_device(s: &[u8], os: OsFamily) -> DeviceClass {
    if TV_OR_CONSOLE.iter().any(|m| find(s, m).is_some()) {
        return DeviceClass::Other;
    }
    // Opera Mini runs on phones but its Android User-Agent lacks "Mobile".
    let mobile_token = find(s, b"Mobi").is_some() || find(s, b"Opera Mini/").is_some();
    match os {
        OsFamily::Ios | OsFamily::WindowsPhone => DeviceClass::Mobile,
        OsFamily::IpadOs => DeviceClass::Tablet,
        OsFamily::Android if mobile_token => DeviceClass::Mobile,
        OsFamily::Android => DeviceClass::Tablet,
        OsFamily::Windows | OsFamily::MacOs | OsFamily::Linux | OsFamily::ChromeOs => {
            DeviceClass::Desktop
        }
        OsFamily::Other if mobile_token => DeviceClass::Mobile,
        OsFamily::Other => DeviceClass::Other,
    }
}

/// Where a rule's major version is read from.
#[derive(Clone, Copy)]
enum Major {
    /// Digits right after the token itself.
    AfterToken,
    /// Digits after `Version/`, else after the token (legacy Opera).
    VersionElseToken,
    /// The token carries no version.
    Unknown,
}

fn detect_browser(s: &[u8], os: OsFamily) -> (&'static str, Option<u32>) {
    for &(token, family, source) in EMBEDDING_BROWSERS {
        if let Some(end) = find_token(s, token) {
            let major = match source {
                Major::AfterToken => major_at(s, end),
                Major::VersionElseToken => major_after(s, b"Version/").or_else(|| major_at(s, end)),
                Major::Unknown => None,
            };
            return (family, major);
        }
    }
    let is_android_webview =
        find(s, b"; wv)").is_some() || find(s, b"Version/4.0 Chrome/").is_some();
    if os == OsFamily::Android && is_android_webview {
        return ("Chrome WebView", major_after(s, b"Chrome/"));
    }
    for token in [&b"CriOS/"[..], b"Chrome/"] {
        if let Some(end) = find_token(s, token) {
            return ("Chrome", major_at(s, end));
        }
    }
    for token in [&b"FxiOS/"[..], b"Firefox/"] {
        if let Some(end) = find_token(s, token) {
            return ("Firefox", major_at(s, end));
        }
    }
    if let Some(end) = find_token(s, b"MSIE ") {
        return ("IE", major_at(s, end));
    }
    if find_token(s, b"Trident/").is_some() {
        return ("IE", major_after(s, b"rv:"));
    }
    let has_safari = find_token(s, b"Safari/").is_some();
    match os {
        OsFamily::Ios | OsFamily::IpadOs | OsFamily::MacOs if has_safari => {
            ("Safari", major_after(s, b"Version/"))
        }
        OsFamily::Ios | OsFamily::IpadOs if find_token(s, b"AppleWebKit/").is_some() => {
            ("Safari WebView", None)
        }
        OsFamily::Android if has_safari => ("Android Browser", None),
        _ => (OTHER, None),
    }
}

/// Major version from the digits right after the first `token`.
fn major_after(s: &[u8], token: &[u8]) -> Option<u32> {
    find_token(s, token).and_then(|end| major_at(s, end))
}

/// Parses the run of ASCII digits starting at `at`: `None` when there is none
/// or it is longer than [`MAX_MAJOR_DIGITS`].
fn major_at(s: &[u8], at: usize) -> Option<u32> {
    let digits = s.get(at..)?;
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > MAX_MAJOR_DIGITS {
        return None;
    }
    Some(digits[..len].iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0')))
}

/// Finds `token` where it starts a product token (at the start, or after a
/// non-alphanumeric byte) and returns the index just past it.
fn find_token(s: &[u8], token: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find(&s[from..], token).map(|p| p + from) {
        let starts_word = at == 0 || !s[at - 1].is_ascii_alphanumeric();
        if starts_word {
            return Some(at + token.len());
        }
        from = at + 1;
    }
    None
}

/// Byte substring search: index of the first occurrence of `needle`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut from = 0;
    while from <= last_start {
        let at = from + hay[from..=last_start].iter().position(|&b| b == first)?;
        if hay[at + 1..at + needle.len()] == *rest {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests;
