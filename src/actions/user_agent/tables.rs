//! The classifier's data: bot, library, TV/console and embedding-browser
//! tokens, checked in the order listed.

use super::{Major, OsFamily};

/// Bot family names, checked in order against the lowercased User-Agent once
/// it is known to be a bot. All Google crawlers report as "Googlebot".
pub(super) const BOT_FAMILIES: &[(&[u8], &str)] = &[
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
pub(super) const BOT_MARKERS: &[&[u8]] = &[
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

/// HTTP libraries, recognised by the product token the User-Agent starts with
/// (lowercase needle, family, OS).
pub(super) const LIBRARIES: &[(&[u8], &str, OsFamily)] = &[
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

/// Markers of TVs and game consoles, whose device class is `other`.
pub(super) const TV_OR_CONSOLE: &[&[u8]] = &[
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

/// Browsers that embed another browser's token, checked in order before the
/// Android WebView, Chrome, Firefox, IE and Safari.
pub(super) const EMBEDDING_BROWSERS: &[(&[u8], &str, Major)] = &[
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
