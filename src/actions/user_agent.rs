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

use std::collections::HashMap;

/// The cache's hasher: foldhash, seeded randomly per process (so colliding
/// User-Agents cannot be precomputed), several times faster than SipHash on
/// 100–200-byte strings.
type UaHasher = foldhash::fast::RandomState;

/// At most this many bytes of a User-Agent are inspected; real ones are far
/// shorter, and the bound keeps a hostile multi-megabyte header cheap.
pub const MAX_SCAN_BYTES: usize = 2048;

/// User-Agents longer than this are classified on every call instead of being
/// cached, so the cache's memory stays bounded by its capacity.
pub const MAX_CACHED_UA_BYTES: usize = 1024;

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

/// Bot family names, checked in order against the lowercased User-Agent once
/// it is known to be a bot. All Google crawlers report as "Googlebot".
const BOT_FAMILIES: &[(&[u8], &str)] = &[
    (b"googlebot", "Googlebot"),
    (b"-google", "Googlebot"),
    (b"google-", "Googlebot"),
    (b"bingbot", "Bingbot"),
    (b"bingpreview", "Bingbot"),
    (b"msnbot", "Bingbot"),
    (b"adidxbot", "Bingbot"),
    (b"yandex", "YandexBot"),
    (b"baiduspider", "Baiduspider"),
    (b"duckduckbot", "DuckDuckBot"),
    (b"applebot", "Applebot"),
    (b"ahrefsbot", "AhrefsBot"),
    (b"semrushbot", "SemrushBot"),
    (b"slurp", "Yahoo Slurp"),
    (b"facebookexternalhit", "facebookexternalhit"),
    (b"facebookcatalog", "facebookexternalhit"),
    (b"twitterbot", "Twitterbot"),
    (b"bytespider", "Bytespider"),
    (b"petalbot", "PetalBot"),
    (b"gptbot", "GPTBot"),
    (b"headlesschrome", "HeadlessChrome"),
];

/// Substrings (lowercase) that mark a bot on their own, besides a word ending
/// in "bot" (see [`has_bot_word`]).
const BOT_MARKERS: &[&[u8]] = &[
    b"crawl",
    b"spider",
    b"slurp",
    b"facebookexternalhit",
    b"facebookcatalog",
    b"mediapartners-google",
    b"apis-google",
    b"feedfetcher-google",
    b"google-inspectiontool",
    b"bingpreview",
    b"headlesschrome",
    b"phantomjs",
    b"lighthouse",
    b"ia_archiver",
];

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

/// HTTP libraries, recognised by the product token the User-Agent starts with
/// (lowercase needle, family, OS).
const LIBRARIES: &[(&[u8], &str, OsFamily)] = &[
    (b"curl/", "curl", OsFamily::Other),
    (b"python-requests/", "python-requests", OsFamily::Other),
    (b"python-urllib/", "python-urllib", OsFamily::Other),
    (b"python-httpx/", "python-httpx", OsFamily::Other),
    (b"okhttp/", "okhttp", OsFamily::Other),
    (b"go-http-client/", "Go-http-client", OsFamily::Other),
    (b"java/", "Java", OsFamily::Other),
    (b"java-http-client/", "Java", OsFamily::Other),
    (b"apache-httpclient/", "Apache-HttpClient", OsFamily::Other),
    (b"wget/", "Wget", OsFamily::Other),
    (b"axios/", "axios", OsFamily::Other),
    (b"node-fetch", "node-fetch", OsFamily::Other),
    (b"postmanruntime/", "PostmanRuntime", OsFamily::Other),
    (b"libwww-perl/", "libwww-perl", OsFamily::Other),
    (b"dart/", "Dart", OsFamily::Other),
    (b"dalvik/", "Dalvik", OsFamily::Android),
];

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

/// Markers of TVs and game consoles, whose device class is `other`.
const TV_OR_CONSOLE: &[&[u8]] = &[
    b"SMART-TV",
    b"SmartTV",
    b"Android TV",
    b"GoogleTV",
    b"HbbTV",
    b"CrKey",
    b"BRAVIA",
    b"Xbox",
    b"PlayStation",
    b"Nintendo",
];

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

/// Browsers that embed another browser's token, checked in order before the
/// Android WebView, Chrome, Firefox, IE and Safari.
const EMBEDDING_BROWSERS: &[(&[u8], &str, Major)] = &[
    (b"Instagram ", "Instagram", Major::AfterToken),
    (b"FBAV/", "Facebook", Major::AfterToken),
    (b"FBAN/", "Facebook", Major::Unknown),
    (b"FB_IAB", "Facebook", Major::Unknown),
    (b"MicroMessenger/", "WeChat", Major::AfterToken),
    (b"EdgA/", "Edge", Major::AfterToken),
    (b"EdgiOS/", "Edge", Major::AfterToken),
    (b"Edg/", "Edge", Major::AfterToken),
    (b"Edge/", "Edge", Major::AfterToken),
    (b"OPR/", "Opera", Major::AfterToken),
    (b"OPiOS/", "Opera", Major::AfterToken),
    (b"OPT/", "Opera", Major::AfterToken),
    (b"Opera Mini/", "Opera Mini", Major::AfterToken),
    (b"Opera/", "Opera", Major::VersionElseToken),
    (b"SamsungBrowser/", "Samsung Internet", Major::AfterToken),
    (b"YaBrowser/", "Yandex Browser", Major::AfterToken),
    (b"UCBrowser/", "UC Browser", Major::AfterToken),
    (b"MQQBrowser/", "QQ Browser", Major::AfterToken),
    (b"QQBrowser/", "QQ Browser", Major::AfterToken),
    (b"MiuiBrowser/", "Mi Browser", Major::AfterToken),
    (b"HuaweiBrowser/", "Huawei Browser", Major::AfterToken),
    (b"Silk/", "Silk", Major::AfterToken),
    (b"Vivaldi/", "Vivaldi", Major::AfterToken),
    (b"GSA/", "Google App", Major::AfterToken),
];

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

/// Bounded cache of reductions (user-agents repeat heavily), storing the
/// serialised JSON per User-Agent.
///
/// Not thread-safe by design: one per worker thread.
///
/// Eviction is two-generation ("hot"/"cold"), a cheap approximation of LRU:
/// new entries go to the hot map; a hit in the cold map moves the entry back
/// to hot; when hot holds `capacity / 2` entries, the cold generation is
/// dropped and hot becomes cold. User-agents seen at least once per
/// generation therefore stay cached, and the total never exceeds `capacity`
/// (with `capacity == 1` there is only one generation; `0` disables caching).
/// Both maps are allocated up front, so hits never allocate.
/// User-agents longer than [`MAX_CACHED_UA_BYTES`] are not cached.
#[derive(Debug)]
pub struct UserAgentCache {
    hot: HashMap<Box<str>, Box<[u8]>, UaHasher>,
    cold: HashMap<Box<str>, Box<[u8]>, UaHasher>,
    capacity: usize,
    generation_limit: usize,
}

impl UserAgentCache {
    /// Creates a cache holding at most `capacity` user-agents.
    pub fn new(capacity: usize) -> Self {
        let (generation_limit, cold_capacity) =
            if capacity >= 2 { (capacity / 2, capacity / 2) } else { (capacity, 0) };
        UserAgentCache {
            hot: HashMap::with_capacity_and_hasher(generation_limit, UaHasher::default()),
            cold: HashMap::with_capacity_and_hasher(cold_capacity, UaHasher::default()),
            capacity,
            generation_limit,
        }
    }

    /// Appends the JSON object for `ua` to `out`, classifying on a miss. Does
    /// not allocate on a hit (beyond growing `out`).
    pub fn write_reduced(&mut self, ua: &str, out: &mut Vec<u8>) {
        if let Some(json) = self.hot.get(ua) {
            out.extend_from_slice(json);
            return;
        }
        if let Some((key, json)) = self.cold.remove_entry(ua) {
            out.extend_from_slice(&json);
            self.insert_hot(key, json);
            return;
        }
        let start = out.len();
        classify(ua).write_json(out);
        if self.capacity > 0 && ua.len() <= MAX_CACHED_UA_BYTES {
            let json: Box<[u8]> = out[start..].into();
            self.insert_hot(ua.into(), json);
        }
    }

    fn insert_hot(&mut self, key: Box<str>, json: Box<[u8]>) {
        if self.hot.len() >= self.generation_limit {
            if self.capacity >= 2 {
                std::mem::swap(&mut self.hot, &mut self.cold);
            }
            self.hot.clear();
        }
        self.hot.insert(key, json);
    }

    /// Number of cached user-agents (never more than the capacity).
    pub fn len(&self) -> usize {
        self.hot.len() + self.cold.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity given to [`UserAgentCache::new`].
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use DeviceClass::{Bot, Desktop, Mobile, Other, Tablet};

    /// (User-Agent, browser, major, os, device), all captured from real traffic
    /// or vendor documentation.
    const CASES: &[(&str, &str, Option<u32>, &str, DeviceClass)] = &[
        // Chrome
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "Chrome", Some(124), "Windows", Desktop),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.122 Safari/537.36",
            "Chrome", Some(123), "macOS", Desktop),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "Chrome", Some(124), "Linux", Desktop),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
            "Chrome", Some(124), "Android", Mobile),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro Build/AP1A.240405.002) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.118 Mobile Safari/537.36",
            "Chrome", Some(123), "Android", Mobile),
        ("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Safari/537.36",
            "Chrome", Some(124), "Android", Tablet),
        ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "Chrome", Some(124), "ChromeOS", Desktop),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
            "Chrome", Some(124), "iOS", Mobile),
        ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
            "Chrome", Some(124), "iPadOS", Tablet),
        // Firefox
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "Firefox", Some(125), "Windows", Desktop),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
            "Firefox", Some(125), "macOS", Desktop),
        ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
            "Firefox", Some(124), "Linux", Desktop),
        ("Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
            "Firefox", Some(125), "Android", Mobile),
        ("Mozilla/5.0 (Android 13; Tablet; rv:124.0) Gecko/124.0 Firefox/124.0",
            "Firefox", Some(124), "Android", Tablet),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15",
            "Firefox", Some(125), "iOS", Mobile),
        // Safari
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
            "Safari", Some(17), "macOS", Desktop),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
            "Safari", Some(17), "iOS", Mobile),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
            "Safari", Some(16), "iOS", Mobile),
        ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
            "Safari", Some(16), "iPadOS", Tablet),
        // Edge
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
            "Edge", Some(124), "Windows", Desktop),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64",
            "Edge", Some(124), "Android", Mobile),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/124.2478.50 Mobile/15E148 Safari/605.1.15",
            "Edge", Some(124), "iOS", Mobile),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.17763",
            "Edge", Some(18), "Windows", Desktop),
        // Opera
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 OPR/109.0.0.0",
            "Opera", Some(109), "Windows", Desktop),
        ("Mozilla/5.0 (Linux; Android 10; VOG-L29) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 OPR/81.1.4292.78446",
            "Opera", Some(81), "Android", Mobile),
        ("Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
            "Opera", Some(12), "Windows", Desktop),
        ("Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16",
            "Opera Mini", Some(36), "Android", Mobile),
        // Samsung Internet
        ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
            "Samsung Internet", Some(24), "Android", Mobile),
        ("Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36",
            "Samsung Internet", Some(23), "Android", Tablet),
        // Android WebView
        ("Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36",
            "Chrome WebView", Some(124), "Android", Mobile),
        ("Mozilla/5.0 (Linux; Android 5.1.1; Nexus 5 Build/LMY48B) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/43.0.2357.65 Mobile Safari/537.36",
            "Chrome WebView", Some(43), "Android", Mobile),
        // In-app browsers
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/457.0.0.44.109;FBBV/582011478;FBDV/iPhone15,3;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/584064271]",
            "Facebook", Some(457), "iOS", Mobile),
        ("Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/460.0.0.48.109;]",
            "Facebook", Some(460), "Android", Mobile),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 327.1.6.30.88 (iPhone15,3; iOS 17_4_1; en_US; en; scale=3.00; 1290x2796; 590301216)",
            "Instagram", Some(327), "iOS", Mobile),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/AP1A.240405.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/123.0.6312.118 Mobile Safari/537.36 Instagram 325.0.0.35.91 Android (34/14; 420dpi; 1080x2400; Google/google; Pixel 7; panther; panther; en_US; 585171239)",
            "Instagram", Some(325), "Android", Mobile),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN",
            "WeChat", Some(8), "iOS", Mobile),
        ("Mozilla/5.0 (Linux; Android 13; V2218A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/1110005 MMWEBSDK/20230805 MMWEBID/1111 MicroMessenger/8.0.42.2460(0x28002A35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64",
            "WeChat", Some(8), "Android", Mobile),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
            "Safari WebView", None, "iOS", Mobile),
        // iPad in desktop mode: indistinguishable from a Mac.
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            "Safari", Some(17), "macOS", Desktop),
        // Other browsers
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36",
            "Yandex Browser", Some(24), "Windows", Desktop),
        ("Mozilla/5.0 (Linux; U; Android 12; en-US; RMX3085 Build/SP1A.210812.016) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/100.0.4896.58 UCBrowser/13.4.0.1306 Mobile Safari/537.36",
            "UC Browser", Some(13), "Android", Mobile),
        ("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
            "IE", Some(11), "Windows", Desktop),
        ("Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; Trident/6.0)",
            "IE", Some(10), "Windows", Desktop),
        ("Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
            "Android Browser", None, "Android", Mobile),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36 Edge/44.18363.8131",
            "Edge", Some(44), "Windows", Other),
        ("Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36",
            "Samsung Internet", Some(4), "Other", Other),
        ("Mozilla/5.0 (Linux; Android 12; CUBOT KingKong 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
            "Chrome", Some(124), "Android", Mobile),
        // Bots
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Googlebot", None, "Other", Bot),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/124.0.6367.201 Safari/537.36",
            "Googlebot", None, "Other", Bot),
        ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Googlebot", None, "Other", Bot),
        ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; AdsBot-Google-Mobile; +http://www.google.com/mobile/adsbot.html)",
            "Googlebot", None, "Other", Bot),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "Bingbot", None, "Other", Bot),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
            "Bingbot", None, "Other", Bot),
        ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
            "YandexBot", None, "Other", Bot),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "facebookexternalhit", None, "Other", Bot),
        ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
            "AhrefsBot", None, "Other", Bot),
        ("Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
            "Yahoo Slurp", None, "Other", Bot),
        ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
            "Baiduspider", None, "Other", Bot),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
            "Applebot", None, "Other", Bot),
        ("Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
            "SemrushBot", None, "Other", Bot),
        ("Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
            "Other", None, "Other", Bot),
        ("Screaming Frog SEO Spider/19.8",
            "Other", None, "Other", Bot),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36",
            "HeadlessChrome", None, "Other", Bot),
        // HTTP libraries
        ("curl/8.5.0", "curl", None, "Other", Other),
        ("python-requests/2.31.0", "python-requests", None, "Other", Other),
        ("okhttp/4.12.0", "okhttp", None, "Other", Other),
        ("Go-http-client/2.0", "Go-http-client", None, "Other", Other),
        ("Java/17.0.10", "Java", None, "Other", Other),
        ("Wget/1.21.4", "Wget", None, "Other", Other),
        ("axios/1.6.8", "axios", None, "Other", Other),
        ("PostmanRuntime/7.37.3", "PostmanRuntime", None, "Other", Other),
        ("Apache-HttpClient/4.5.14 (Java/17.0.10)", "Apache-HttpClient", None, "Other", Other),
        ("Dalvik/2.1.0 (Linux; U; Android 14; SM-S918B Build/UP1A.231005.007)",
            "Dalvik", None, "Android", Other),
        // Empty and garbage
        ("", "Other", None, "Other", Other),
        ("   ", "Other", None, "Other", Other),
        ("-", "Other", None, "Other", Other),
        ("Mozilla/5.0", "Other", None, "Other", Other),
        ("\u{0}\u{fffd}ÿ\u{7f}🦀 Chrome/", "Chrome", None, "Other", Other),
        ("MyApp/3.2.1 (com.example.app; build:4711; iOS 17.4.1) Alamofire/5.8.0",
            "Other", None, "Other", Other),
    ];

    /// Identifying fragments from the inputs above that must never appear in
    /// any output.
    const FORBIDDEN: &[&str] = &[
        "SM-",
        "Pixel",
        "iPhone1",
        "iPad1",
        "Nexus",
        "Build",
        "TP1A",
        "UP1A",
        "AP1A",
        "15E148",
        "K)",
        "Win64",
        "x86",
        "FBDV",
        "en_US",
        "zh_CN",
        "1290x2796",
        "KingKong",
        "RMX",
        "VOG",
        "LG-",
        "panther",
        "0x",
    ];

    /// Every browser family the classifier can emit.
    fn all_families() -> Vec<&'static str> {
        let mut all = vec![
            OTHER,
            "Chrome WebView",
            "Chrome",
            "Firefox",
            "IE",
            "Safari",
            "Safari WebView",
            "Android Browser",
        ];
        all.extend(EMBEDDING_BROWSERS.iter().map(|r| r.1));
        all.extend(BOT_FAMILIES.iter().map(|r| r.1));
        all.extend(LIBRARIES.iter().map(|r| r.1));
        all
    }

    #[test]
    fn fixed_names_need_no_escaping_and_carry_no_digits() {
        let oses = [
            OsFamily::Windows,
            OsFamily::WindowsPhone,
            OsFamily::MacOs,
            OsFamily::Ios,
            OsFamily::IpadOs,
            OsFamily::Android,
            OsFamily::Linux,
            OsFamily::ChromeOs,
            OsFamily::Other,
        ];
        let names = all_families().into_iter().chain(oses.iter().map(|os| os.name()));
        for name in names {
            assert!(!name.is_empty());
            assert!(
                name.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
                    && !name.contains(['"', '\\'])
                    && !name.contains(|c: char| c.is_ascii_digit()),
                "{name}"
            );
        }
    }

    fn json_of(class: &UserAgentClass) -> String {
        let mut out = Vec::new();
        class.write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn real_user_agents_classify_as_expected() {
        assert!(CASES.len() >= 45);
        for &(ua, browser, major, os, device) in CASES {
            let expected = UserAgentClass { browser, browser_major: major, os, device };
            assert_eq!(classify(ua), expected, "{ua}");
        }
    }

    /// The only digit run in the JSON is the major version, and no model,
    /// build or locale fragment of the input survives.
    fn assert_non_identifying(ua: &str) {
        let class = classify(ua);
        assert!(all_families().contains(&class.browser), "{}", class.browser);
        let json = json_of(&class);
        let digit_runs: Vec<&str> =
            json.split(|c: char| !c.is_ascii_digit()).filter(|run| !run.is_empty()).collect();
        match class.browser_major {
            Some(major) => assert_eq!(digit_runs, vec![major.to_string()], "{json}"),
            None => assert!(digit_runs.is_empty(), "{json}"),
        }
        for fragment in FORBIDDEN {
            assert!(!json.contains(fragment), "{fragment} leaked into {json}");
        }
    }

    #[test]
    fn json_never_carries_identifying_fragments() {
        for &(ua, ..) in CASES {
            assert_non_identifying(ua);
        }
    }

    #[test]
    fn json_has_the_documented_shape() {
        let class = classify(CASES[3].0);
        assert_eq!(
            json_of(&class),
            r#"{"browser":"Chrome","browser_major":"124","os":"Android","device":"mobile"}"#
        );
        assert_eq!(
            json_of(&UserAgentClass::OTHER),
            r#"{"browser":"Other","browser_major":null,"os":"Other","device":"other"}"#
        );
    }

    #[test]
    fn implausible_major_versions_are_dropped() {
        let ua = "Mozilla/5.0 (Windows NT 10.0) Chrome/5551234567.0 Safari/537.36";
        assert_eq!(classify(ua).browser_major, None);
        let ua = "Mozilla/5.0 (Windows NT 10.0) Chrome/9999.0 Safari/537.36";
        assert_eq!(classify(ua).browser_major, Some(9999));
        assert_eq!(classify("Mozilla/5.0 (Windows NT 10.0) Chrome/x").browser_major, None);
    }

    #[test]
    fn tokens_must_start_a_word() {
        // "XOPR/" is not Opera's token; "NotChrome/" is not Chrome's.
        let ua = "Mozilla/5.0 (Windows NT 10.0) XOPR/99 Firefox/125.0";
        assert_eq!(classify(ua).browser, "Firefox");
        assert_eq!(classify("NotChrome/1 (X11; Linux)").browser, "Other");
    }

    #[test]
    fn very_long_input_is_bounded() {
        let mut ua = String::from("Mozilla/5.0 (Windows NT 10.0) Chrome/124.0 ");
        ua.push_str(&"a".repeat(100_000));
        ua.push_str(" Googlebot/2.1");
        // The bot token lies beyond the scan window, so it is not seen.
        let class = classify(&ua);
        assert_eq!(class.browser, "Chrome");
        assert_eq!(class.device, Desktop);
    }

    #[test]
    fn device_class_names() {
        let names: Vec<&str> =
            [Desktop, Mobile, Tablet, Bot, Other].iter().map(|d| d.as_str()).collect();
        assert_eq!(names, ["desktop", "mobile", "tablet", "bot", "other"]);
    }

    #[test]
    fn cache_hit_returns_identical_bytes() {
        let mut cache = UserAgentCache::new(16);
        assert!(cache.is_empty());
        for &(ua, ..) in CASES.iter().take(8) {
            let mut first = Vec::new();
            cache.write_reduced(ua, &mut first);
            let mut second = b"prefix".to_vec();
            cache.write_reduced(ua, &mut second);
            assert_eq!(&second[..6], b"prefix");
            assert_eq!(&second[6..], &first[..]);
            assert_eq!(first, json_of(&classify(ua)).into_bytes());
        }
        assert_eq!(cache.len(), 8);
    }

    #[test]
    fn cache_respects_capacity_and_keeps_hot_entries() {
        let hot_ua = CASES[0].0;
        for capacity in [0, 1, 2, 3, 7, 10] {
            let mut cache = UserAgentCache::new(capacity);
            let mut out = Vec::new();
            for i in 0..100 {
                cache.write_reduced(&format!("curl/{i}"), &mut out);
                assert!(cache.len() <= capacity, "capacity {capacity}");
                cache.write_reduced(hot_ua, &mut out);
                assert!(cache.len() <= capacity, "capacity {capacity}");
            }
            if capacity >= 2 {
                // Used every generation, so it survives eviction.
                assert!(cache.hot.contains_key(hot_ua) || cache.cold.contains_key(hot_ua));
            }
            assert_eq!(cache.is_empty(), capacity == 0);
        }
    }

    #[test]
    fn cache_hits_do_not_grow_the_maps() {
        let mut cache = UserAgentCache::new(8);
        let mut out = Vec::new();
        for &(ua, ..) in CASES.iter().take(8) {
            cache.write_reduced(ua, &mut out);
        }
        let capacities = (cache.hot.capacity(), cache.cold.capacity());
        let len = cache.len();
        for _ in 0..3 {
            for &(ua, ..) in CASES.iter().take(8) {
                cache.write_reduced(ua, &mut out);
            }
        }
        assert_eq!((cache.hot.capacity(), cache.cold.capacity()), capacities);
        assert!(cache.len() <= len);
    }

    #[test]
    fn overlong_user_agents_are_not_cached() {
        let mut cache = UserAgentCache::new(4);
        let ua = format!("curl/8.0 {}", "x".repeat(MAX_CACHED_UA_BYTES));
        let mut out = Vec::new();
        cache.write_reduced(&ua, &mut out);
        assert!(cache.is_empty());
        assert_eq!(out, json_of(&classify(&ua)).into_bytes());
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_leaks(ua in ".{0,300}") {
            assert_non_identifying(&ua);
        }

        #[test]
        fn mutated_real_input_never_leaks(
            case in 0..CASES.len(),
            cut in 0usize..400,
            junk in "[A-Za-z0-9/ ;().,_-]{0,40}",
        ) {
            let ua = CASES[case].0;
            let cut = (0..=cut.min(ua.len())).rev().find(|&i| ua.is_char_boundary(i)).unwrap_or(0);
            let mutated = format!("{}{junk}{}", &ua[..cut], &ua[cut..]);
            assert_non_identifying(&mutated);
            let mut cache = UserAgentCache::new(2);
            let mut out = Vec::new();
            cache.write_reduced(&mutated, &mut out);
            prop_assert_eq!(out, json_of(&classify(&mutated)).into_bytes());
        }
    }
}
