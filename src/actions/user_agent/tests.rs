//! Unit tests of the User-Agent classifier and its cache.

use super::*;
use proptest::prelude::*;

use DeviceClass::{Bot, Desktop, Mobile, Other, Tablet};

/// (User-Agent, browser, major, os, device), all captured from real traffic
/// or vendor documentation.
pub(super) const CASES: &[(&str, &str, Option<u32>, &str, DeviceClass)] = &[
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

pub(super) fn json_of(class: &UserAgentClass) -> String {
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
