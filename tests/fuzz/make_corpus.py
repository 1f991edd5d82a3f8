#!/usr/bin/env python3
"""Writes the small seed corpora under tests/fuzz/corpus/<target>/ from:
the `[[tests]]` inputs of every pipeline file, `logveil generate` (the seeded
reference workload), the demo samples (`logveil::samples`, dumped one record
per file into SAMPLES_DIR by any small program calling `samples::records`
and `samples::combined_lines`), config/logveil.toml and a few hand-written
values. Run from the repository root:

    python3 tests/fuzz/make_corpus.py target/debug/logveil SAMPLES_DIR

Seeds are named by the SHA-1 of their bytes, as libFuzzer names its own."""
import hashlib, json, os, subprocess, sys, tomllib

LOGVEIL, SAMPLES = sys.argv[1], sys.argv[2]
OUT = "tests/fuzz/corpus"
PIPELINES = sorted(f for f in os.listdir("pipelines") if f.endswith(".toml"))
SAMPLE_PIPELINE = {
    "log_information": "access_log.toml", "account_information": "account.toml",
    "real_name_authentication": "real_name.toml", "customer_service": "customer_service.toml",
    "operational_activities": "operations.toml", "payment": "payment.toml",
    "phishing_simulation": "phishing_simulation.toml", "combined": "web_server_combined.toml",
}

def put(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

records = []  # (pipeline index, bytes)
for i, name in enumerate(PIPELINES):
    with open(os.path.join("pipelines", name), "rb") as f:
        text = f.read()
    put("config", b"\x01" + text)
    for case in tomllib.loads(text.decode()).get("tests", []):
        records.append((i, case["input"].encode()))
for name in sorted(os.listdir(SAMPLES)):
    with open(os.path.join(SAMPLES, name), "rb") as f:
        records.append((PIPELINES.index(SAMPLE_PIPELINE[name.rsplit("-", 1)[0]]), f.read()))
generated = subprocess.run([LOGVEIL, "generate", "--records", "4", "--seed", "7"],
                           check=True, capture_output=True).stdout.splitlines()
records += [(PIPELINES.index("access_log.toml"), line) for line in generated]

for i, rec in records:
    put("record", bytes([i]) + rec)
    put("scanner", rec)
    put("stats", bytes([i, 3, 0]) + rec)
    if PIPELINES[i] == "web_server_combined.toml":
        put("clf", b"\x00" + rec)
    else:
        try:
            obj = json.loads(rec)
        except ValueError:
            continue
        for v in obj.values() if isinstance(obj, dict) else []:
            if isinstance(v, str):
                put("actions", b"\x00" + v.encode())
                put("redact", v.encode())
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                put("actions", b"\x01" + json.dumps(v).encode())
put("clf", b"\x01" + b'203.0.113.77 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 -')
put("actions", b"\x02" + "CN\nShenzhen\n1 Nanjing Rd".encode())
for text in ["+86180013+861380014", "8::138-0013-8000", "mail a.b@example.com or 13800138000",
             "https://user:pw@example.com/x 4111 1111 1111 1111 11010519491231002X"]:
    put("redact", text.encode())
with open("config/logveil.toml", "rb") as f:
    cfg = f.read()
put("config", b"\x00" + cfg)
put("config", b"\x00" + cfg + b"\x00" + b"\x04=98765432\n\x05=6000\nSERVICE__WORKER_THREADS=x\n")
put("config", b"\x00[kafka.client]\n\"sasl.password\" = 98765432\n\x00\x0a=earliest\n")
