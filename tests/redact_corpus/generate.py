#!/usr/bin/env python3
"""Writes corpus.tsv: a labelled corpus for the `redact` detectors.

Every line is built by planting ONE known value (or none, for negatives)
into a realistic chat, ticket or log template, so its label comes from how
the text was built, never from running a detector. Check digits (Luhn,
GB 11643, ISO 13616 mod-97) are computed here, independently of the Rust
code. Seeded: `python3 generate.py` always writes the same file;
`python3 generate.py SEED OUT.tsv` writes a fresh corpus (for a held-out
run: `REDACT_CORPUS=OUT.tsv cargo test --test redact_corpus`).

Columns: id, class (EMAIL, PHONE, CN_ID, CARD, IBAN, CREDENTIALS, IP,
PASSPORT, or NONE for a negative), style, text, expected (the text with the
planted value replaced by its label). Tabs, newlines and backslashes in
text are escaped as \\t, \\n and \\\\.
"""
import base64
import json
import os
import random

import sys
SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 20261130
R = random.Random(SEED)

# ------------------------------------------------------------ checksums

def luhn_digit(payload):
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)

def luhn_ok(number):
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def cn_check(body):
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, W)) % 11]

def iban_check(country, bban):
    s = bban + country + "00"
    num = "".join(str(int(c, 36)) for c in s)
    return "%02d" % (98 - int(num) % 97)

# ------------------------------------------------------------ pieces

def digits(n):
    return "".join(R.choice("0123456789") for _ in range(n))

def rand_date(y0=1950, y1=2010):
    import datetime
    start = datetime.date(y0, 1, 1).toordinal()
    end = datetime.date(y1, 12, 31).toordinal()
    return datetime.date.fromordinal(R.randint(start, end))

REGIONS = ["110105", "310101", "440304", "330106", "510104", "420102", "320102", "370202", "500103", "610113", "210102", "350203"]

def cn_id18(lower_x=False):
    while True:
        body = R.choice(REGIONS) + rand_date().strftime("%Y%m%d") + digits(3)
        c = cn_check(body)
        if lower_x or R.random() < 0.85 or c == "X":
            break
    out = body + c
    return out.replace("X", "x") if lower_x and c == "X" else out

def cn_id18_with_x():
    while True:
        body = R.choice(REGIONS) + rand_date().strftime("%Y%m%d") + digits(3)
        if cn_check(body) == "X":
            return body + "X"

def cn_id15():
    return R.choice(REGIONS) + rand_date(1930, 1999).strftime("%y%m%d") + digits(3)

def cn_id_bad_check():
    body = R.choice(REGIONS) + rand_date().strftime("%Y%m%d") + digits(3)
    good = cn_check(body)
    bad = R.choice([c for c in "0123456789" if c != good])
    return body + bad

def mobile():
    prefix = R.choice(["130", "131", "135", "136", "138", "139", "150", "151", "158", "159", "166", "177", "180", "186", "188", "189", "199", "147", "173", "195"])
    return prefix + digits(8)

def landline_area():
    return R.choice(["010", "021", "020", "022", "023", "024", "025", "027", "028", "029", "0755", "0571", "0512", "0532", "0898", "0371"])

def local_number(n):
    return R.choice("2345678") + digits(n - 1)

def card_number(kind):
    spec = {
        "visa": ("4", 16), "visa13": ("4", 13), "mc": (R.choice(["51", "52", "53", "54", "55"]), 16),
        "mc2": (str(R.randint(2221, 2720)), 16), "amex": (R.choice(["34", "37"]), 15),
        "unionpay16": ("62" + R.choice(["2202", "1700", "2848", "5908"]), 16), "unionpay19": ("62" + R.choice(["2202", "1226", "2848"]), 19),
        "jcb": (str(R.randint(3528, 3589)), 16), "discover": ("6011", 16), "maestro": ("6759", 18),
    }[kind]
    prefix, length = spec
    payload = prefix + digits(length - len(prefix) - 1)
    return payload + luhn_digit(payload)

def group(number, sizes, sep):
    out, i = [], 0
    for s in sizes:
        out.append(number[i:i + s])
        i += s
    if i < len(number):
        out.append(number[i:])
    return sep.join(out)

IBAN_SPECS = {"DE": "8n10n", "GB": "4a14n", "FR": "10n11c2n", "NL": "4a10n", "ES": "20n", "IT": "1a10n12c", "CH": "5n12c", "BE": "12n", "AT": "16n", "PL": "24n", "SE": "20n", "NO": "11n", "IE": "4a14n", "PT": "21n"}

def iban(country):
    spec = IBAN_SPECS[country]
    bban, num = "", ""
    for ch in spec:
        if ch.isdigit():
            num += ch
            continue
        n = int(num); num = ""
        alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}[ch]
        bban += "".join(R.choice(alphabet) for _ in range(n))
    return country + iban_check(country, bban) + bban

FW = {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz@.-+:=()"}
def fullwidth(s):
    return "".join(FW.get(c, c) for c in s)

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
def rand_str(n, alphabet=ALNUM):
    return "".join(R.choice(alphabet) for _ in range(n))

def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")

def jwt():
    header = b64url(json.dumps({"alg": R.choice(["HS256", "RS256"]), "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": digits(8), "iat": 1715600000 + R.randint(0, 99999), "role": "user"}).encode())
    return header + "." + payload + "." + rand_str(43, ALNUM + "-_")

def password():
    return R.choice(["hunter", "Passw0rd", "qwerty", "S3cret", "dragon", "Summer", "abc", "zx"]) + R.choice(["!", "#", "2024", "123", "_x9", "@88", "$7", "9"]) + rand_str(R.randint(0, 4))

NAMES_EN = ["alice", "bob", "j.smith", "wei.zhang", "li_na", "m.mueller", "support+cn", "ops-team", "kevin.o", "chen2024"]
DOMAINS = ["example.com", "mail.example.org", "qq.com", "163.com", "corp.example.cn", "example.co.uk", "gmail.com", "outlook.com", "foxmail.com", "sina.com.cn"]
CJK_NAMES = ["张三", "李四", "王小明", "陈静", "刘洋", "赵敏", "黄磊", "周杰"]
UNI_DOMAINS = ["例子.中国", "公司.cn", "例え.jp", "bücher.de", "münchen.example"]

# ------------------------------------------------------------ distractors (negatives)

def order_no():
    return R.choice(["DD", "SO", "PO", "ORD-", "订单"]) + "2024" + "%02d%02d" % (R.randint(1, 12), R.randint(1, 28)) + digits(R.randint(6, 8))

def version():
    return R.choice(["v", "", "V"]) + ".".join(str(R.randint(0, 20)) for _ in range(R.randint(2, 3)))

def date_str():
    d = rand_date(2020, 2025)
    return R.choice([d.strftime("%Y-%m-%d"), d.strftime("%Y/%m/%d"), "%d年%d月%d日" % (d.year, d.month, d.day), d.strftime("%d.%m.%Y")])

def time_str():
    return R.choice(["%02d:%02d" % (R.randint(0, 23), R.randint(0, 59)), "%02d:%02d:%02d" % (R.randint(0, 23), R.randint(0, 59), R.randint(0, 59)), "%02d:%02d:%02d.%03d" % (R.randint(0, 23), R.randint(0, 59), R.randint(0, 59), R.randint(0, 999))])

def price():
    return R.choice(["¥", "$", "€", "RMB ", ""]) + R.choice(["%d" % R.randint(1, 9999), "%d.%02d" % (R.randint(1, 9999), R.randint(0, 99)), "{:,}.00".format(R.randint(1000, 99999))]) + R.choice(["", "元", " CNY"])

def uuid():
    h = lambda n: rand_str(n, "0123456789abcdef")
    return "-".join([h(8), h(4), "4" + h(3), R.choice("89ab") + h(3), h(12)])

def tracking():
    return R.choice([
        "SF" + digits(13), "YT" + digits(13), "JD" + digits(13), "ZTO" + digits(12), "1Z" + rand_str(6, "ABCDEFGHJKLMNPRSTUVWXYZ0123456789") + digits(10),
        "9400 " + " ".join(digits(4) for _ in range(4)) + " " + digits(2), "EMS " + "E" + rand_str(1, "ABCDEFGHJKLMN") + digits(9) + "CN",
    ])

def sku():
    return R.choice(["SKU-", "SKU ", "货号", "ITEM#", ""]) + rand_str(R.randint(2, 3), "ABCDEFGHJKLMNPQRSTUVWXYZ") + "-" + digits(R.randint(3, 5)) + R.choice(["", "-XL", "-BLK", "-02"])

def sha():
    return rand_str(R.choice([7, 12, 40]), "0123456789abcdef")

def luhn_failing_16():
    while True:
        n = R.choice("3456") + digits(15)
        if not luhn_ok(n):
            return n

def epoch():
    return str(R.randint(1600000000, 1760000000)) + R.choice(["", digits(3)])

def distractor():
    return R.choice([order_no, version, date_str, time_str, price, uuid, tracking, sku, sha, epoch])()

# ------------------------------------------------------------ templates

EN_CHAT = [
    "Hi, my order {o} arrived broken. You can reach me at {v} after {t}.",
    "customer: please update my details to {v} thanks",
    "Agent note ({d}): customer provided {v}, refund of {p} approved.",
    "ticket #{n}: user says the app ({ver}) crashes; contact {v}",
    "[{d} {t}] INFO support.chat - msg=\"contact me via {v}\" order={o}",
    "Customer wrote: {v} - please call back before {t}",
    "escalated by L1 on {d}: {v} (see order {o})",
    "{v}",
    "Reply from user: here you go {v}. Total was {p}.",
    "WARN webhook payload contained {v}; dropping retry #{n}",
]
ZH_CHAT = [
    "您好，我的订单{o}还没到，联系方式{v}，谢谢！",
    "客户留言：{v}，麻烦尽快处理。",
    "【工单{n}】用户反馈APP {ver} 闪退，备注：{v}",
    "{d} {t} 客服记录：客户提供了{v}，退款{p}已审核。",
    "用户说：我的信息是 {v} 请帮我改一下",
    "请核对：{v}。订单号{o}，金额{p}。",
    "客户在{t}来电，留下{v}，要求回电。",
    "备注{v}",
    "转人工：{v}（物流单号{tr}）",
    "系统日志 {d} {t} ERROR 回调失败 data={v}",
]

def filled(template, value):
    return template.format(v=value, o=order_no(), t=time_str(), d=date_str(), p=price(), n=R.randint(1000, 99999), ver=version(), tr=tracking())

def plant(cls, style, value, label_text, templates=None, before="", after=""):
    """A line with `before + value + after` planted in a template; the
    expected output has `before + label + after` in its place."""
    templates = templates or (EN_CHAT + ZH_CHAT)
    t = R.choice(templates)
    marker = "\x00"
    text_with_marker = filled(t, marker)
    text = text_with_marker.replace(marker, before + value + after)
    expected = text_with_marker.replace(marker, before + label_text + after)
    return (cls, style, text, expected)

ROWS = []
def add(cls, style, value, label=None, **kw):
    ROWS.append(plant(cls, style, value, "[" + (label or cls) + "]", **kw))

# ------------------------------------------------------------ positives

def emails():
    for _ in range(14):
        add("EMAIL", "ascii", R.choice(NAMES_EN) + "@" + R.choice(DOMAINS), before=R.choice(["", "email ", "mail: ", "邮箱", "邮箱：", "<"]), after=R.choice(["", " ", ">", "，谢谢"]))
    for _ in range(8):
        add("EMAIL", "uppercase_tag", R.choice(["John.Doe+shop", "LI.NA", "Support_Team", "x.y.z+promo2024"]) + "@" + R.choice(DOMAINS).upper(), before=" ")
    for _ in range(10):
        add("EMAIL", "cjk_local_part", R.choice(CJK_NAMES) + "@" + R.choice(DOMAINS), before=R.choice(["邮箱：", "邮箱是", "email: ", " ", "发到 "]), after=R.choice(["", " 谢谢", "，", "。"]))
    for _ in range(10):
        add("EMAIL", "unicode_domain", R.choice(NAMES_EN + CJK_NAMES) + "@" + R.choice(UNI_DOMAINS), before=R.choice(["邮箱：", " ", "mail "]), after=R.choice([" ", "，请查收", " thanks"]))
    for _ in range(6):
        add("EMAIL", "latin_diacritics", R.choice(["josé.garcía", "müller", "zoë", "françois"]) + "@" + R.choice(DOMAINS), before=" ", after=" ")
    for _ in range(12):
        v = R.choice(NAMES_EN) + "%40" + R.choice(DOMAINS)
        add("EMAIL", "percent_40", v, before="https://shop.example.com/account?lang=zh&email=", after=R.choice(["", "&page=2"]))
    for _ in range(8):
        add("EMAIL", "fullwidth_at", R.choice(NAMES_EN) + "＠" + R.choice(DOMAINS), before=R.choice(["邮箱：", "邮箱 "]))
    for _ in range(8):
        add("EMAIL", "glued_cjk", R.choice(NAMES_EN).replace(".", "") + "@" + R.choice(DOMAINS), before="邮箱", after=R.choice(["谢谢", "，"]))
    for _ in range(6):
        add("EMAIL", "mailto", R.choice(NAMES_EN) + "@" + R.choice(DOMAINS), before="mailto:")
    for _ in range(6):
        add("EMAIL", "json_log", R.choice(NAMES_EN) + "@" + R.choice(DOMAINS), before='{"email":"', after='"}', templates=["{d} {t} DEBUG user.update body={v}"])

def phones():
    def m(style, value, **kw):
        add("PHONE", style, value, **kw)
    for _ in range(8):
        m("cn_mobile_glued", mobile(), before=R.choice(["", "电话", "手机：", "tel: ", "call "]), after=R.choice(["", "谢谢", " ", "。"]))
    for sep, name in [(" ", "space"), ("-", "dash"), (".", "dot"), ("\u00a0", "nbsp")]:
        for _ in range(5):
            x = mobile()
            m("cn_mobile_344_" + name, group(x, [3, 4], sep), before=R.choice(["", "手机 ", "phone: "]))
    for _ in range(5):
        x = mobile(); m("cn_mobile_443", group(x, [4, 4], " "), before="tel ")
    for _ in range(4):
        x = mobile(); m("cn_mobile_38", group(x, [3], " "), before="电话 ")
    for pre in ["+86", "+86 ", "+86-", "0086", "0086 ", "86 ", "(+86) ", "(+86)", "+86 (0)"]:
        for _ in range(3):
            x = mobile()
            if pre == "+86 (0)":
                continue
            m("cn_mobile_prefix_" + pre.strip().replace(" ", "_"), pre + R.choice([x, group(x, [3, 4], " "), group(x, [3, 4], "-")]), before=R.choice(["", "联系", "phone "]))
    for _ in range(6):
        m("cn_mobile_fullwidth", fullwidth(mobile()), before=R.choice(["手机：", "电话"]), after=R.choice(["", "，谢谢"]))
    for _ in range(6):
        m("cn_mobile_letters", mobile(), before=R.choice(["tel", "Tel", "mobile", "TEL", "phone"]), after=R.choice(["", " ", "/wechat"]))
    for _ in range(6):
        m("cn_mobile_cjk", mobile(), before=R.choice(["打", "我手机是", "号码", "联系人王先生"]), after=R.choice(["联系我", "找我", "，", "吧"]))
    for _ in range(12):
        a = landline_area(); n = local_number(8 if len(a) == 3 else R.choice([7, 8]))
        style, v = R.choice([("dash", a + "-" + n), ("paren", "(" + a + ") " + group(n, [4], " ")), ("space", a + " " + n), ("dash_grouped", a + "-" + group(n, [4], " "))])
        m("cn_landline_" + style, v, before=R.choice(["座机", "Tel: ", "office ", "电话："]))
    for _ in range(5):
        a = R.choice(["10", "21", "20", "755", "571"]); n = local_number(8 if len(a) == 2 else 7)
        m("cn_landline_+86", "+86 " + a + " " + group(n, [4], " "), before="tel ")
    intl = [
        lambda: "+1 (" + R.choice("23456789") + digits(2) + ") " + R.choice("23456789") + digits(2) + "-" + digits(4),
        lambda: "+1 " + R.choice("23456789") + digits(2) + " " + R.choice("23456789") + digits(2) + " " + digits(4),
        lambda: "+44 20 " + digits(4) + " " + digits(4),
        lambda: "+44 (0)20 " + digits(4) + " " + digits(4),
        lambda: "+49 30 " + digits(7),
        lambda: "+49-89-" + digits(6),
        lambda: "+81 3-" + digits(4) + "-" + digits(4),
        lambda: "+33 1 " + " ".join(digits(2) for _ in range(4)),
        lambda: "+65 " + digits(4) + " " + digits(4),
        lambda: "+852 " + digits(4) + " " + digits(4),
        lambda: "+61 2 " + digits(4) + " " + digits(4),
        lambda: "+7 495 " + digits(3) + "-" + digits(2) + "-" + digits(2),
    ]
    for f in intl:
        for _ in range(2):
            m("international", f(), before=R.choice(["", "phone: ", "call ", "电话 "]), after=R.choice(["", " ", "."]))
    for _ in range(6):
        a = R.choice("23456789") + digits(2); e = R.choice("23456789") + digits(2); l = digits(4)
        m("nanp", R.choice(["(%s) %s-%s", "%s-%s-%s", "%s.%s.%s"]) % (a, e, l), before=R.choice(["call ", "phone: "]))

def cn_ids():
    def c(style, value, **kw):
        add("CN_ID", style, value, **kw)
    ctx = ["", "身份证", "身份证号：", "ID ", "证件号码 ", "id: ", "身份证号码是"]
    for _ in range(20):
        c("id18_glued", cn_id18(), before=R.choice(ctx), after=R.choice(["", "。", " ", "，"]))
    for _ in range(8):
        c("id18_x", cn_id18_with_x(), before=R.choice(ctx))
    for _ in range(5):
        v = cn_id18_with_x().replace("X", "x"); c("id18_lower_x", v, before=R.choice(ctx))
    for _ in range(8):
        c("id18_space_6_8_4", group(cn_id18(), [6, 8], " "), before=R.choice(ctx))
    for _ in range(8):
        c("id18_dash_6_8_4", group(cn_id18(), [6, 8], "-"), before=R.choice(ctx))
    for _ in range(6):
        c("id18_4444_2", group(cn_id18(), [4, 4, 4, 4], " "), before=R.choice(ctx))
    for _ in range(8):
        c("id18_fullwidth", fullwidth(cn_id18()), before=R.choice(["身份证：", "证件号"]))
    for before in ["身份证号：", "身份证 ", "ID: ", "ID card no. ", "id no. ", "证件号码：", "national ID "]:
        for _ in range(2):
            c("bad_check_with_context", cn_id_bad_check(), before=before)
    for _ in range(15):
        c("id15_legacy", cn_id15(), before=R.choice(["旧身份证", "老证号 ", "15位身份证：", "old ID "]), after=R.choice(["", " 已过期", "。"]))

def cards():
    def k(style, value, **kw):
        add("CARD", style, value, **kw)
    ctx = ["", "卡号", "卡号：", "card ", "card no. ", "银行卡 ", "credit card: "]
    for kind in ["visa", "mc", "mc2", "jcb", "discover", "unionpay16"]:
        for _ in range(4):
            k(kind + "_glued", card_number(kind), before=R.choice(ctx), after=R.choice(["", " ", "。"]))
        for sep, name in [(" ", "space"), ("-", "dash"), (".", "dot"), ("_", "underscore")]:
            k(kind + "_grouped_" + name, group(card_number(kind), [4, 4, 4], sep), before=R.choice(ctx))
    for _ in range(6):
        k("amex_465", group(card_number("amex"), [4, 6], " "), before=R.choice(ctx))
    for _ in range(4):
        k("amex_glued", card_number("amex"), before=R.choice(ctx))
    for _ in range(8):
        k("unionpay19_glued", card_number("unionpay19"), before=R.choice(ctx))
    for _ in range(8):
        k("unionpay19_44443", group(card_number("unionpay19"), [4, 4, 4, 4], R.choice([" ", "-"])), before=R.choice(ctx))
    for _ in range(4):
        k("visa13", card_number("visa13"), before="card ")
    for _ in range(4):
        k("maestro18", card_number("maestro"), before="card ")
    for _ in range(6):
        k("fullwidth", fullwidth(group(card_number("visa"), [4, 4, 4], " ")), before="卡号：")

def ibans():
    for country in IBAN_SPECS:
        for _ in range(2):
            v = iban(country)
            add("IBAN", "glued_" + country, v, before=R.choice(["", "IBAN ", "IBAN: ", "账户", "acct "]), after=R.choice(["", " ", "."]))
        for _ in range(2):
            v = iban(country)
            add("IBAN", "grouped_" + country, group(v, [4] * (len(v) // 4), " "), before=R.choice(["IBAN: ", "请汇款至 ", "bank: "]), after=R.choice(["", " ", "，"]))

def credentials():
    def cr(style, value, **kw):
        add("CREDENTIALS", style, value, **kw)
    kv = [("password=", ""), ("password: ", ""), ("pwd: ", ""), ("passwd = ", ""), ("secret=", ""), ("client_secret: ", ""), ("db_password=", ""), ("PASSWORD=", ""), ("api_key=", ""), ("apiKey: ", ""), ("access_key=", ""), ("auth_token=", ""), ("refresh_token: ", ""), ("x-api-key: ", "")]
    for key, _ in kv:
        for _ in range(3):
            cr("kv_" + key.strip(" :=").lower(), password() if "pass" in key.lower() or "pwd" in key else rand_str(R.randint(16, 32)), before=key, after=R.choice(["", " ", ", retry"]))
    for _ in range(6):
        key = R.choice(["password", "api_key", "token", "secret"])
        cr("json_quoted", rand_str(20) if key != "password" else password(), before='{"user":"u1","%s":"' % key, after='"}', templates=["{d} {t} DEBUG request body={v}", "请求体：{v}"])
    for _ in range(8):
        cr("bearer_jwt", jwt(), before="Authorization: Bearer ")
    for _ in range(5):
        cr("bearer_opaque", rand_str(32), before=R.choice(["Authorization: Bearer ", "authorization: bearer ", "Bearer "]))
    for _ in range(6):
        user = R.choice(NAMES_EN).replace(".", ""); pw = password()
        cr("basic", base64.b64encode((user + ":" + pw).encode()).decode(), before=R.choice(["Authorization: Basic ", "Basic "]))
    for _ in range(6):
        cr("jwt_bare", jwt(), before=R.choice(["token ", "jwt=", "id_token: ", "令牌："]))
    for _ in range(8):
        cr("aws_key_id", R.choice(["AKIA", "ASIA"]) + rand_str(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), before=R.choice(["aws key ", "AccessKeyId ", "", "key: "]))
    for _ in range(4):
        cr("aws_secret", rand_str(40, ALNUM + "/+"), before=R.choice(["aws_secret_access_key=", "AWS_SECRET_ACCESS_KEY: "]))
    for _ in range(5):
        cr("github", R.choice(["ghp_", "gho_", "ghs_"]) + rand_str(36), before=R.choice(["", "token ", "GITHUB_TOKEN "]))
    for _ in range(3):
        cr("github_pat", "github_pat_" + rand_str(22) + "_" + rand_str(59), before=" ")
    for _ in range(4):
        cr("gitlab", "glpat-" + rand_str(20), before=R.choice(["", "gitlab "]))
    for _ in range(4):
        cr("slack", R.choice(["xoxb-", "xoxp-"]) + digits(12) + "-" + digits(12) + "-" + rand_str(24), before=R.choice(["slack ", ""]))
    for _ in range(4):
        cr("stripe", R.choice(["sk_live_", "rk_live_", "sk_test_"]) + rand_str(24), before=R.choice(["stripe ", "", "using "]))
    for _ in range(4):
        body = "\n".join(rand_str(64, ALNUM + "+/") for _ in range(3))
        kind = R.choice(["RSA ", "EC ", "OPENSSH ", ""])
        cr("pem_private_key", "-----BEGIN %sPRIVATE KEY-----\n%s\n-----END %sPRIVATE KEY-----" % (kind, body, kind), before="key:\n", after="\n")
    for _ in range(6):
        user = R.choice(NAMES_EN).replace(".", ""); pw = password().replace("@", "").replace("#", "")
        host = R.choice(["db.internal:5432/app", "cache:6379", "example.com/path", "mysql.prod.local:3306"])
        scheme = R.choice(["https://", "postgres://", "redis://", "mysql://"])
        cr("url_userinfo", user + ":" + pw, before=scheme, after="@" + host)
    for param in ["token", "access_token", "sig", "code", "password", "signature"]:
        for _ in range(2):
            cr("query_" + param, rand_str(R.randint(12, 30), ALNUM + "-_"), before="https://api.example.com/v1/cb?state=ok&%s=" % param, after=R.choice(["", "&lang=zh"]))
    for _ in range(6):
        cr("zh_password", password(), before=R.choice(["密码：", "密码是", "新密码 ", "登录密码为"]), after=R.choice(["", "，请尽快修改", " 谢谢"]), templates=ZH_CHAT)
    for _ in range(4):
        cr("zh_sms_code", digits(6), before=R.choice(["验证码：", "验证码 ", "验证码是"]), templates=ZH_CHAT)
    for _ in range(4):
        cr("en_prose", password(), before=R.choice(["my password is ", "the password is ", "Password is "]), templates=EN_CHAT)

def ips():
    def ip4():
        return ".".join(str(R.randint(1, 254)) for _ in range(4))
    def ip6():
        g = lambda: "%x" % R.randint(0, 0xffff)
        return R.choice([
            "2001:db8:" + ":".join(g() for _ in range(6)),
            "2001:db8::" + g(),
            "fe80::" + g() + ":" + g(),
            "2409:8a1e:" + g() + ":" + g() + "::" + g(),
            "::ffff:" + ip4(),
            "2a02:810d:9f:3a::" + str(R.randint(1, 99)),
        ])
    for _ in range(20):
        add("IP", "v4", ip4(), before=R.choice(["", "from ", "IP ", "ip=", "登录IP", "来自", "client "]), after=R.choice(["", " ", "，", "登录", "."]))
    for _ in range(10):
        add("IP", "v4_port", ip4(), before=R.choice(["connect ", "upstream=", "连接"]), after=":" + str(R.randint(80, 65000)))
    for _ in range(20):
        add("IP", "v6", ip6(), before=R.choice(["", "from ", "src=", "客户端", "ipv6 "]), after=R.choice(["", " ", "，", " timeout"]))
    for _ in range(10):
        add("IP", "v6_bracket_port", "[" + ip6() + "]", label="IP", before=R.choice(["http://", "connect ", "peer="]), after=":" + str(R.randint(80, 65000)))
    for _ in range(8):
        add("IP", "v6_zone", "fe80::" + "%x" % R.randint(1, 0xffff) + "%" + R.choice(["eth0", "en0", "wlan0", "25eth1"]), before=R.choice(["link-local ", "addr "]))
    for _ in range(6):
        add("IP", "v4_fullwidth", fullwidth(ip4()), before="ＩＰ：")

def passports():
    for _ in range(30):
        v = R.choice([lambda: "E" + digits(8), lambda: "E" + R.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + digits(7), lambda: "G" + digits(8)])()
        add("PASSPORT", "cn_passport", v, before=R.choice(["护照号码：", "护照 ", "passport no. ", "Passport: ", "护照号"]), after=R.choice(["", "，", " exp 2031"]))

# ------------------------------------------------------------ negatives

def negatives():
    en = [
        "Order {o} shipped on {d} at {t}, tracking {tr}.",
        "App {ver} released {d}; build {n} fixes login.",
        "Refund of {p} for order {o} approved at {t}.",
        "request_id={u} status=200 latency={n}ms",
        "{d} {t} INFO checkout sku={s} qty={q} price={p}",
        "User forgot password, reset link sent at {t}.",
        "token expired, please log in again ({d})",
        "Please enter your password and verification code.",
        "commit {h} merged into release/{ver}",
        "Tracking number {tr}, ETA {d}.",
        "Invoice total {p}, due {d}, ref {o}.",
        "error code: {n}, retry after {q}s",
        "Chrome/124.0.{n}.{q} Safari/537.36 on Windows 10.0.19045",
        "ts={e} event=page_view duration={q}.{q}s",
        "Meeting moved to {d} {t}, room 12-301.",
        "score 4.5/5, {q} reviews, rank #{n}",
        "Free shipping over {p}; item {s} in stock: {q}",
        "v{ver} -> v{ver2}: migrated {n} rows in {q}.{q}s",
        "uuid {u} not found",
        "port 8080 open, 3 of 5 workers ready, load 0.75",
    ]
    zh = [
        "订单{o}已于{d} {t}发货，物流单号{tr}。",
        "您好，您的退款{p}将在3-5个工作日内到账。",
        "版本 {ver} 修复了登录问题，构建号{n}。",
        "密码错误，请重新输入。",
        "验证码已发送，请注意查收。",
        "商品{s}库存{q}件，单价{p}。",
        "会员积分{n}分，有效期至{d}。",
        "{d} {t} 用户下单，订单号{o}，金额{p}。",
        "请在{t}前完成支付，超时订单自动取消。",
        "客服工号{q}为您服务，满意度{q}分。",
        "系统升级至{ver}，耗时{q}分钟。",
        "快递单号{tr}，预计{d}送达。",
        "会议室 3-201，时间 {t}。",
        "令牌已过期，请重新登录。",
        "护照办理进度：材料已提交，预计{d}完成。",
        "共{q}件商品，合计{p}，优惠{p2}。",
        "批次号{h}，生产日期{d}。",
        "流水号{o}处理成功",
        "身份证正反面照片已上传，审核中。",
        "请输入6位数字密码",
    ]
    def fill(t):
        return t.format(o=order_no(), d=date_str(), t=time_str(), tr=tracking(), ver=version().lstrip("vV"), ver2=version().lstrip("vV"), n=R.randint(1, 99999), p=price(), p2=price(), u=uuid(), s=sku(), q=R.randint(1, 99), h=sha(), e=epoch())
    for i in range(200):
        ROWS.append(("NONE", "en_negative", *(lambda x: (x, x))(fill(R.choice(en)))))
    for i in range(200):
        ROWS.append(("NONE", "zh_negative", *(lambda x: (x, x))(fill(R.choice(zh)))))
    specific = [
        ("luhn_failing_16", lambda: "订单号" + luhn_failing_16()),
        ("bad_check_id_no_context", lambda: "流水 " + cn_id_bad_check()),
        ("invalid_mobile_prefix", lambda: "编号12" + digits(9)),
        ("epoch_millis", lambda: "ts=" + str(R.randint(1600000000000, 1760000000000))),
        ("dotted_version4", lambda: "firmware %d.%d.%d.%d" % (R.randint(1, 9), R.randint(0, 20), R.randint(0, 99), R.randint(0, 999))),
        ("passport_shape_without_context", lambda: "SKU E" + digits(8)),
        ("iban_shape_bad_check", lambda: "ref DE" + "%02d" % R.randint(0, 99) + digits(18)),
        ("mac_address", lambda: "mac " + ":".join("%02x" % R.randint(0, 255) for _ in range(6))),
        ("clock_range", lambda: "open %02d:00-%02d:30" % (R.randint(7, 10), R.randint(17, 22))),
        ("usps_tracking", lambda: "USPS 9400 " + " ".join(digits(4) for _ in range(4)) + " " + digits(2)),
    ]
    for name, f in specific:
        for _ in range(12):
            text = f()
            ROWS.append(("NONE", name, text, text))

emails(); phones(); cn_ids(); cards(); ibans(); credentials(); ips(); passports(); negatives()

def esc(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

# Negatives built by chance with a valid checksum are not negatives.
def accidental_positive(cls, style, text):
    if style == "iban_shape_bad_check":
        v = text.split()[-1]
        return iban_check(v[:2], v[4:]) == v[2:4]
    if style == "luhn_failing_16":
        return False
    return False

out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus.tsv")
with open(out, "w", encoding="utf-8") as f:
    f.write("id\tclass\tstyle\ttext\texpected\n")
    n = 0
    for cls, style, text, expected in ROWS:
        if accidental_positive(cls, style, text):
            continue
        n += 1
        f.write("%d\t%s\t%s\t%s\t%s\n" % (n, cls, style, esc(text), esc(expected)))
print("wrote", n, "rows to", out)
