"""The ``--html`` pages in a real headless Chromium, asserted from the rendered DOM.

Pages of ``demo --html``, ``connect --html`` against ``openssl s_server``, and ``decrypt --html`` of the shared
Wireshark captures (TLS 1.2 and TLS 1.3 draft-20), plus a generated capture whose SNI and plaintext are markup and
script. Expected values come from outside the page: the RFCs' key lengths, tshark's key material
(``expected-tshark/*.json``), OpenSSL's own key log, and the command's ``--json`` / ``--records`` output for the
same capture. Every page must load with no console error and no request besides the file itself.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.browser import launch_chromium, open_page
from tests.helpers.capture import loopback_capture, stop_process
from tests.helpers.env import VECTORS, free_port, require_binary
from tests.helpers.peers import TLSSTATE, make_cli_pki, run_connect, s_server_www
from tests.helpers.tcp_damage import Damage, live_tls_capture, tshark_record_frames, tshark_tcp
from tlsstate.bench.captures import ssl_capture
from tlsstate.capture.writer import (
    CLIENT,
    drop_segment,
    read_frames,
    write_frames,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]

WIRESHARK = VECTORS / "wireshark-test-suite"
SIX = ("client_write_mac_key", "server_write_mac_key", "client_write_key", "server_write_key", "client_write_iv",
       "server_write_iv")

@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_cli_pki(tmp_path_factory.mktemp("html-pki"))


#: Everything the assertions read, straight from the rendered DOM and computed styles.
DOM = """() => Array.from(document.querySelectorAll(".conn")).map(s => ({
  id: s.id,
  title: s.querySelector("h2").textContent,
  facts: s.querySelector(".facts") ? s.querySelector(".facts").textContent : "",
  text: s.textContent,
  nodes: Array.from(s.querySelectorAll(".tree li")).map(li => ({
    id: li.id, name: li.querySelector(":scope > .name").textContent,
    length: li.querySelector(":scope > .len") ? parseInt(li.querySelector(":scope > .len").textContent) : null,
    value: li.querySelector(":scope > .val") ? li.querySelector(":scope > .val").textContent : ""})),
  legend: Array.from(s.querySelectorAll(".legend li")).map(li => ({
    label: li.querySelector(".lb").textContent, colour: getComputedStyle(li).getPropertyValue("--c").trim()})),
  gaps: Array.from(s.querySelectorAll(".timeline tbody tr.gap")).map(r => ({
    text: r.textContent.trim(), next: r.nextElementSibling ? r.nextElementSibling.id : null})),
  retransmissions: Array.from(s.querySelectorAll(".timeline tbody tr.retx")).map(r => r.textContent.trim()),
  marks: (all => all.flatMap((r, i) => !r.classList.contains("mark") ? [] : [{
    kind: r.classList.contains("gap") ? "gap" : "retx", text: r.textContent.trim(), frame: +r.dataset.frame,
    offset: +r.dataset.offset, length: +r.dataset.length, conflict: r.classList.contains("conflict"),
    before: all.slice(0, i).filter(p => !p.classList.contains("mark")).length}])
  )(Array.from(s.querySelectorAll(".timeline tbody tr"))),
  rows: Array.from(s.querySelectorAll(".timeline tbody tr:not(.mark)")).map(r => ({
    id: r.id, type: r.cells[1].textContent, seq: r.cells[2].textContent, length: r.cells[3].textContent,
    key: r.cells[5].textContent,
    verdict: r.cells[6].textContent.trim(), bad: r.classList.contains("bad"),
    colour: getComputedStyle(r).getPropertyValue("--c").trim(), background: getComputedStyle(r).backgroundColor}))
}))"""


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TLSSTATE, *map(str, args)], capture_output=True, text=True, timeout=180)


def dom(browser: Any, path: Path, **options: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Open ``path``; its DOM facts; asserts no console error and no request leaving the page."""
    opened = open_page(browser, path, **options)
    sections = opened.page.evaluate(DOM)
    assert opened.errors == []
    assert opened.outside_requests() == []
    return opened, sections


def nodes_named(section: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [n for n in section["nodes"] if n["name"] == name]


def six_lengths(section: dict[str, Any]) -> list[int]:
    return [nodes_named(section, name)[0]["length"] for name in SIX]


def colour_counts(section: dict[str, Any], per_key: Counter[str]) -> tuple[Counter[str], Counter[str]]:
    """(rows per computed colour, ``per_key`` records summed per the colour the legend gives each key)."""
    colour_of = {entry["label"]: entry["colour"] for entry in section["legend"]}
    expected: Counter[str] = Counter()
    for key, count in per_key.items():
        expected[colour_of[key]] += count
    return Counter(row["colour"] for row in section["rows"]), expected


def is_red(rgb: str) -> bool:
    r, g, b = (int(x) for x in re.findall(r"\d+", rgb)[:3])
    return r > g + 20 and r > b + 20


def select(opened: Any, row_id: str) -> dict[str, Any]:
    """Click a record; the panel's sequence number and the highlighted tree nodes."""
    opened.page.click(f"#{row_id}")
    return opened.page.evaluate("""() => ({
      seq: document.querySelector("#panel .seq").textContent,
      key: document.querySelector("#panel .key").textContent,
      visible: !document.getElementById("panel").hidden,
      highlighted: Array.from(document.querySelectorAll(".tree li.hl")).map(li => li.querySelector(".name").textContent)
    })""")


# ----------------------------------------------------------------------------------------------------- demo


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("demo") / "demo.html"
    run = cli("demo", "--json", "--html", out)
    assert run.returncode == 0, run.stderr
    return out, json.loads(run.stdout)


def test_demo_page_six_values_and_three_red_proofs(chromium: Any, demo_page: tuple[Path, dict[str, Any]]) -> None:
    path, document = demo_page
    opened, sections = dom(chromium, path)
    # RFC 5246 Appendix C / RFC 2246 §6.3: AES_128_CBC_SHA = MAC 20, key 16, IV 16 (TLS 1.0 cuts the IV);
    # RFC 5288 §3: AES_128_GCM = no MAC key, key 16, 4-byte salt
    assert len(sections) == 3  # the two TLS 1.0/1.2 runs, then the TLS 1.3 part
    assert [six_lengths(s) for s in sections[:2]] == [[20, 20, 16, 16, 16, 16], [0, 0, 16, 16, 4, 4]]
    for section, run in zip(sections[:2], document["runs"], strict=True):
        bad = [row for row in section["rows"] if row["bad"]]
        assert len(bad) == 3
        assert all("bad_record_mac" in row["verdict"] and is_red(row["background"]) for row in bad)
        assert [row["key"] for row in bad] == [proof["key_tried"] for proof in run["proofs"]]
        assert [int(row["seq"]) for row in bad] == [proof["seq_expected"] for proof in run["proofs"]]
        application = Counter(row["key"] for row in section["rows"] if row["type"] == "application_data")
        expected = Counter([r["key_label"] for r in run["records"]] + [p["key_tried"] for p in run["proofs"]])
        assert application == expected
        assert not [row for row in section["rows"] if not row["bad"] and row["verdict"] != "ok"]
        for name in SIX:  # the page shows the values the --json document has, in full (as the demo's screen)
            node = nodes_named(section, name)[0]
            title = name.replace("_", " ").replace("mac", "MAC").replace(" iv", " IV")
            assert node["value"] == (run["key_block"][title] if node["length"] else "")
    shown = select(opened, bad[1]["id"])
    assert shown["visible"] and shown["seq"] == bad[1]["seq"] and shown["key"] == "server write key (epoch 1)"
    assert sorted(shown["highlighted"]) == ["server_write_iv", "server_write_key"]  # GCM: no MAC key
    tls13, part = sections[2], document["tls13"]  # RFC 9846 §7.3: one key and IV per traffic secret, no MAC key
    bad13 = [row for row in tls13["rows"] if row["bad"]]
    assert [row["key"] for row in bad13] == ["SERVER_TRAFFIC_SECRET_0"] * 3
    assert all("bad_record_mac" in row["verdict"] and is_red(row["background"]) for row in bad13)
    assert [int(row["seq"]) for row in bad13] == [proof["seq_expected"] for proof in part["proofs"]]
    assert not [row for row in tls13["rows"] if not row["bad"] and row["verdict"] != "ok"]
    assert Counter(row["key"] for row in tls13["rows"] if row["key"].endswith(("_0", "_1")) and not row["bad"]) == {
        "CLIENT_TRAFFIC_SECRET_0": 3, "CLIENT_TRAFFIC_SECRET_1": 2, "SERVER_TRAFFIC_SECRET_0": 4}
    secret_1 = nodes_named(tls13, "CLIENT_TRAFFIC_SECRET_1")  # the KeyUpdate's generation, under secret 0
    assert len(secret_1) == 1 and secret_1[0]["value"] == part["key_update"]["secret"]
    assert nodes_named(tls13, "CLIENT_TRAFFIC_SECRET_1 key")[0]["value"] == part["key_update"]["key"]
    assert nodes_named(tls13, "shared_secret")[0]["value"] == part["shared_secret"]
    opened.page.context.close()


def test_demo_page_keyboard_dark_print_and_no_script(chromium: Any, demo_page: tuple[Path, dict[str, Any]]) -> None:
    path, _ = demo_page
    opened, scripted = dom(chromium, path, color_scheme="dark")
    page = opened.page
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(21, 23, 26)"
    page.focus("#c0r0")
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.id") == "c0r1"
    assert page.evaluate("document.querySelector('#c0r1').classList.contains('sel')")
    assert page.evaluate("document.querySelector('#panel h3').textContent").endswith("record 1")
    displayed = "Array.from(document.querySelectorAll('#c1 tbody tr')).filter(r => r.offsetParent !== null).length"
    page.check("#c1 .fbad")  # filtering: failed records only
    assert page.evaluate(displayed) == 3
    page.select_option("#c1 .fkey", label="client write key (epoch 1)")
    assert page.evaluate(displayed) == 0
    page.uncheck("#c1 .fbad")
    assert page.evaluate(displayed) == 3  # the client's Finished and its two application records
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('.tools')).display") == "none"
    assert page.evaluate("getComputedStyle(document.getElementById('panel')).display") == "none"
    opened.page.context.close()
    light, _ = dom(chromium, path, color_scheme="light")
    assert light.page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    light.page.context.close()
    plain, sections = dom(chromium, path, java_script_enabled=False)  # the tree, the table and the details
    # without JavaScript: every record row and tree node the scripted page has (handshake, renegotiation, proofs)
    assert [len(s["rows"]) for s in sections] == [len(s["rows"]) for s in scripted]
    assert all(len(s["rows"]) > 14 and len(s["nodes"]) > 10 for s in sections)
    for selector in ("#c0-server_write_key", "#c0r13", "#c1r13", "#d-c1r13"):  # as a reader scrolls to them
        plain.page.locator(selector).scroll_into_view_if_needed()
        assert plain.page.is_visible(selector)
    plain.page.context.close()


# ----------------------------------------------------------------------------------------------------- connect


def test_connect_page_against_openssl_s_server(chromium: Any, pki: dict[str, Path], tmp_path: Path) -> None:
    keylog, out = tmp_path / "openssl.keys", tmp_path / "connect.html"
    with s_server_www(pki, ["-tls1_2"], keylog=keylog) as port:
        run = run_connect([f"127.0.0.1:{port}", "--cafile", str(pki["ca"]), "--servername", "localhost",
                           "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384", "--show-keys", "--html", str(out)])
    assert run.returncode == 0, run.stderr
    opened, (section,) = dom(chromium, out)
    assert six_lengths(section) == [0, 0, 32, 32, 4, 4]  # RFC 5288 §3: AES_256_GCM
    # OpenSSL's key log names this connection's client random and master secret (RFC 5246 §8.1)
    client_random = nodes_named(section, "client_random")[0]["value"]
    line = next(ln for ln in keylog.read_text().splitlines() if ln.startswith("CLIENT_RANDOM"))
    assert line.split()[1:] == [client_random, nodes_named(section, "master_secret")[0]["value"]]
    for writer, lane in (("client", "c"), ("server", "s")):
        protected = [row for row in section["rows"] if row["key"] == f"{writer} write key (epoch 1)"]
        assert [int(row["seq"]) for row in protected] == list(range(len(protected))) and len(protected) >= 2
        assert lane  # both directions carry protected records with consecutive sequence numbers from 0
    assert not any(row["bad"] for row in section["rows"])
    shown = select(opened, protected[1]["id"])
    assert shown["seq"] == "1" and sorted(shown["highlighted"]) == ["server_write_iv", "server_write_key"]
    # the plaintext: what we sent on stdin, and s_server -www's answer (its first line is "HTTP/1.0 200 ok")
    request = next(r for r in section["rows"] if r["type"] == "application_data" and r["key"].startswith("client"))
    select(opened, request["id"])
    assert "GET / HTTP/1.0" in opened.page.text_content("#panel pre.txt")
    answer = next(r for r in section["rows"] if r["type"] == "application_data" and r["key"].startswith("server"))
    select(opened, answer["id"])
    assert opened.page.text_content("#panel pre.txt").startswith("HTTP/1.0 200 ok")
    opened.page.context.close()


@pytest.mark.parametrize("suite", ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"])
def test_connect_page_tls13_schedule_against_openssl_s_server(chromium: Any, pki: dict[str, Path], tmp_path: Path,
                                                               suite: str) -> None:
    """A live TLS 1.3 connection's page: the HKDF schedule (RFC 9846 §7.1) with OpenSSL's own key log values for
    the four traffic secrets, each with its key and IV (RFC 9846 §7.3: 16 or 32 bytes, 12), and every record opened
    under the secret OpenSSL says protected that direction at that point."""
    keylog, out = tmp_path / "openssl.keys", tmp_path / "connect13.html"
    with s_server_www(pki, ["-tls1_3", "-ciphersuites", suite], keylog=keylog) as port:
        run = run_connect([f"127.0.0.1:{port}", "--cafile", str(pki["ca"]), "--servername", "localhost",
                           "--versions", "tls1.3", "--show-keys", "--html", str(out)])
    assert run.returncode == 0, run.stderr
    opened, (section,) = dom(chromium, out)
    theirs = {line.split()[0]: line.split()[2] for line in keylog.read_text().splitlines() if line.strip()}
    key_length = 16 if "128" in suite else 32
    for label in ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
                  "SERVER_TRAFFIC_SECRET_0"):
        assert nodes_named(section, label)[0]["value"] == theirs[label], label
        assert nodes_named(section, f"{label} key")[0]["length"] == key_length
        assert nodes_named(section, f"{label} iv")[0]["length"] == 12
    assert nodes_named(section, "exporter_master_secret")[0]["value"] == theirs["EXPORTER_SECRET"]
    rows = section["rows"]
    assert rows and not any(row["bad"] for row in rows)
    for label in ("SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
                  "SERVER_TRAFFIC_SECRET_0"):
        protected = [row for row in rows if row["key"] == label]
        assert protected and [int(row["seq"]) for row in protected] == list(range(len(protected))), label
    answer = next(r for r in rows if r["type"] == "application_data" and r["key"] == "SERVER_TRAFFIC_SECRET_0")
    shown = select(opened, answer["id"])
    assert "SERVER_TRAFFIC_SECRET_0 key" in shown["highlighted"] or "SERVER_TRAFFIC_SECRET_0" in shown["highlighted"]
    opened.page.context.close()


# ----------------------------------------------------------------------------------------------------- decrypt


def check_against_json(sections: list[dict[str, Any]], capture_args: list[str | Path]) -> list[dict[str, Any]]:
    """The page against ``decrypt --json --records`` for the same capture: one row per per-record result, in order,
    with its sequence number, length, key and verdict; rows per colour equal those results per key; the counters."""
    document = json.loads(cli("decrypt", *capture_args, "--json", "--records").stdout)
    assert len(sections) == len(document)
    for section, conn in zip(sections, document, strict=True):
        results = conn["records"]
        assert [(row["seq"], int(row["length"]), row["key"], row["verdict"].split(":")[0].lstrip("✗ ").split()[0])
                for row in section["rows"]] == [("-" if r["seq"] is None else str(r["seq"]), r["length"], r["key"],
                                                 r["verdict"]) for r in results]
        verdicts = Counter(r["verdict"] for r in results)
        assert verdicts["ok"] == conn["records_ok"] and verdicts["bad_record_mac"] == conn["records_failed"]
        shown, expected = colour_counts(section, Counter(r["key"] for r in results))
        assert shown == expected and len(shown) >= 3
    return document


def test_decrypt_page_tls12_six_values_match_tshark(chromium: Any, tmp_path: Path) -> None:
    args: list[str | Path] = [WIRESHARK / "captures/rsa-p-lt-q.pcap", "--rsa-key", WIRESHARK / "keys/rsa-p-lt-q.key"]
    out = tmp_path / "rsa.html"
    assert cli("decrypt", *args, "--html", out, "--show-secrets", "-q").returncode == 0
    opened, sections = dom(chromium, out)
    check_against_json(sections, args)
    tshark = json.loads((WIRESHARK / "expected-tshark/rsa-p-lt-q.json").read_text())["key_material"][0]
    # RFC 5246 §6.3: TLS 1.2 CBC cuts no IVs (each record carries its own, §6.2.3.2); tshark derives 16 unused bytes
    assert six_lengths(sections[0]) == [20, 20, 32, 32, 0, 0]
    for ours, theirs in (("client_write_mac_key", "client_mac_key"), ("server_write_mac_key", "server_mac_key"),
                         ("client_write_key", "client_write_key"), ("server_write_key", "server_write_key")):
        assert nodes_named(sections[0], ours)[0]["value"] == tshark[theirs]
    assert nodes_named(sections[0], "master_secret")[0]["value"] == tshark["master_secret"]
    row = next(r for r in sections[0]["rows"] if r["key"] == "client write key (epoch 1)" and r["seq"] == "1")
    shown = select(opened, row["id"])
    assert shown["seq"] == "1" and sorted(shown["highlighted"]) == ["client_write_key", "client_write_mac_key"]
    # every record's header bytes (type, version, length: RFC 5246 §6.2.1) as tshark reads the same capture
    headers = opened.page.evaluate("Array.from(document.querySelectorAll('.details .detail')).map("
                                   "d => d.querySelector('dd code').textContent)")
    assert len(headers) == len(sections[0]["rows"])
    ours = Counter((int(h[:2], 16), int(h[6:], 16)) for h in headers)
    fields = subprocess.run([require_binary("tshark"), "-r", str(args[0]), "-T", "fields", "-e", "tls.record.content_type",
                             "-e", "tls.record.length"], capture_output=True, text=True, timeout=60, check=True).stdout
    theirs: Counter[tuple[int, int]] = Counter()
    for line in fields.splitlines():
        if line.strip():
            types, lengths = line.split("\t")
            theirs.update(zip(map(int, types.split(",")), map(int, lengths.split(",")), strict=True))
    assert ours == theirs
    opened.page.context.close()


def test_decrypt_page_tls12_chacha_seven_connections(chromium: Any, tmp_path: Path) -> None:
    args: list[str | Path] = [WIRESHARK / "captures/tls12-chacha20poly1305.pcap",
                              "--keylog", WIRESHARK / "keys/tls12-chacha20poly1305.keys"]
    out = tmp_path / "chacha.html"
    assert cli("decrypt", *args, "--html", out, "-q").returncode == 0
    opened, sections = dom(chromium, out)
    check_against_json(sections, args)
    assert all(six_lengths(s) == [0, 0, 32, 32, 12, 12] for s in sections)  # RFC 7905 §2
    assert all("…<32B>" in nodes_named(s, "client_write_key")[0]["value"] for s in sections)  # shortened
    opened.page.context.close()


def test_decrypt_page_tls13(chromium: Any, tmp_path: Path) -> None:
    args: list[str | Path] = [WIRESHARK / "captures/tls13-20-chacha20poly1305.pcap",
                              "--keylog", WIRESHARK / "keys/tls13-20-chacha20poly1305.keys"]
    out, pages = tmp_path / "tls13.html", tmp_path / "pages"
    assert cli("decrypt", *args, "--html", out, "--html-dir", pages, "-q").returncode == 0
    opened, sections = dom(chromium, out)
    check_against_json(sections, args)
    for section in sections:
        for secret in ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                       "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"):
            # RFC 8446 §7.3 with ChaCha20-Poly1305 (RFC 8439): a 32-byte key and a 12-byte IV per traffic secret
            assert nodes_named(section, f"{secret} key")[0]["length"] == 32
            assert nodes_named(section, f"{secret} iv")[0]["length"] == 12
    row = next(r for r in sections[0]["rows"] if r["key"].startswith("SERVER_TRAFFIC_SECRET_0") and r["seq"] == "1")
    shown = select(opened, row["id"])
    assert shown["seq"] == "1"
    assert sorted(shown["highlighted"]) == ["SERVER_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0 iv",
                                            "SERVER_TRAFFIC_SECRET_0 key"]
    opened.page.context.close()
    index, _ = dom(chromium, pages / "index.html")
    assert index.page.evaluate("Array.from(document.querySelectorAll('#pages a')).map(a => a.getAttribute('href'))") \
        == ["conn0000.html", "conn0001.html"]
    index.page.context.close()
    single, (section,) = dom(chromium, pages / "conn0001.html")
    assert section["rows"] == sections[1]["rows"]
    single.page.context.close()


# ----------------------------------------------------------------------------------------------------- hostile

SNI = "<script>window.sni=1</script>"
PAYLOAD = b"<script>window.pwned=1</script><img src=x onerror=\"window.img=1\"><b id=injected>x</b>"


def test_hostile_sni_and_plaintext_render_as_text(chromium: Any, tmp_path: Path) -> None:
    made = ssl_capture(tmp_path, connections=1, records=2, payload=PAYLOAD, server_hostname=SNI, tls13=True)
    out = tmp_path / "hostile.html"
    assert cli("decrypt", made.capture, "--keylog", made.keylog, "--html", out, "-q").returncode == 0
    opened, (section,) = dom(chromium, out)
    page = opened.page
    assert page.evaluate("[window.sni, window.pwned, window.img]") == [None, None, None]
    assert page.evaluate("document.scripts.length") == 1  # the page's own
    assert page.evaluate("document.querySelectorAll('img, #injected, b').length") == 0
    # the SNI is refused as a host name (RFC 6066 §3) and shown in the note that says so; the plaintext in a fact
    assert SNI in section["text"] and PAYLOAD.decode()[:40] in section["facts"]
    opened.page.context.close()


def test_long_timeline_is_paged(chromium: Any, tmp_path: Path) -> None:
    made = ssl_capture(tmp_path, connections=1, records=1200, payload=b"x" * 16)
    out = tmp_path / "long.html"
    assert cli("decrypt", made.capture, "--keylog", made.keylog, "--html", out, "-q").returncode == 0
    opened, sections = dom(chromium, out)
    page = opened.page
    check_against_json(sections, [made.capture, "--keylog", made.keylog])  # every row is in the file
    assert len(sections[0]["rows"]) > made.client_records
    assert page.evaluate("document.querySelector('.pos').textContent") == "page 1 of 3"
    displayed = "Array.from(document.querySelectorAll('tbody tr')).filter(r => r.offsetParent !== null).length"
    assert page.evaluate(displayed) == 500
    page.click("button.next")
    assert page.evaluate("document.querySelector('.pos').textContent") == "page 2 of 3"
    assert page.is_visible("#c0r500") and not page.is_visible("#c0r499")
    opened.page.context.close()


def test_large_capture_opens_connections_on_demand_and_stays_inert(chromium: Any, tmp_path: Path) -> None:
    """More than OPEN_CONNECTIONS: every connection starts closed; opening one unpacks its (escaped) markup."""
    made = ssl_capture(tmp_path, connections=25, records=2, payload=PAYLOAD, server_hostname=SNI)
    out = tmp_path / "many.html"
    args: list[str | Path] = [made.capture, "--keylog", made.keylog]
    assert cli("decrypt", *args, "--html", out, "-q").returncode == 0
    opened = open_page(chromium, out)
    page = opened.page
    assert page.evaluate("document.querySelectorAll('details.conn').length") == 25
    assert page.evaluate("document.querySelectorAll('details.conn[open], .conn .tree').length") == 0
    page.click("#c17 > summary")
    page.wait_for_selector("#c17 .tools")
    sections = page.evaluate(DOM)
    opened_sections = [s for s in sections if s["nodes"]]
    assert [s["id"] for s in opened_sections] == ["c17"]
    document = json.loads(cli("decrypt", *args, "--json").stdout)
    verdicts = Counter(row["verdict"] for row in opened_sections[0]["rows"])
    assert verdicts["ok"] == document[17]["records_ok"] and len(opened_sections[0]["rows"]) == document[17]["records_ok"]
    assert SNI in opened_sections[0]["text"]
    assert page.evaluate("[window.sni, window.pwned, window.img]") == [None, None, None]
    assert page.evaluate("document.querySelectorAll('img, #injected, b').length") == 0
    shown = select(opened, opened_sections[0]["rows"][-1]["id"])
    assert shown["seq"] == opened_sections[0]["rows"][-1]["seq"]
    assert opened.errors == [] and opened.outside_requests() == []
    opened.page.context.close()


def test_a_tcp_gap_is_marked_where_it_falls(chromium: Any, tmp_path: Path) -> None:
    made = ssl_capture(tmp_path, connections=1, records=40, payload=bytes(range(256)) * 8)  # 2 KiB records
    _, frames = read_frames(made.capture)
    kept, lost = drop_segment(frames, sport=CLIENT[1])
    damaged = tmp_path / "gap.pcap"
    write_frames(damaged, kept)
    out = tmp_path / "gap.html"
    args: list[str | Path] = [damaged, "--keylog", made.keylog]
    cli("decrypt", *args, "--html", out, "-q")
    opened, sections = dom(chromium, out)
    check_against_json(sections, args)
    (gap,) = sections[0]["gaps"]
    (after_hole,) = [f for f in tshark_tcp(require_binary("tshark"), damaged) if "lost_segment" in f.flags]
    assert after_hole.sport == CLIENT[1]  # tshark: "previous segment not captured" on the frame after the hole
    assert gap["text"] == (f"⚠ TCP gap: {lost} bytes missing client → server here (frame {after_hole.number}, "
                           f"stream offset {after_hole.seq - 1 - lost})")
    rows = sections[0]["rows"]
    after = next(i for i, row in enumerate(rows) if row["id"] == gap["next"])
    client = [(i, int(row["seq"])) for i, row in enumerate(rows) if row["key"] == "client write key (epoch 1)"]
    before = [seq for i, seq in client if i < after]
    later = [seq for i, seq in client if i >= after]
    assert before == list(range(before[0], before[-1] + 1))  # consecutive up to the gap
    assert later[0] > before[-1] + 1  # the records lost in the gap are skipped: the capture resynchronised there
    assert all(row["verdict"] == "ok" for row in rows)
    opened.page.context.close()


def next_secret(secret: bytes) -> bytes:
    """RFC 8446 §7.1 HKDF-Expand-Label(secret, "traffic upd", "", Hash.length) for the SHA-256 suites."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    label = b"tls13 traffic upd"
    info = len(secret).to_bytes(2, "big") + bytes([len(label)]) + label + b"\x00"
    algorithm = hashes.SHA384() if len(secret) == 48 else hashes.SHA256()
    return HKDFExpand(algorithm, len(secret), info).derive(secret)


def test_tls13_key_update_is_a_new_branch(chromium: Any, tmp_path: Path) -> None:
    """OpenSSL s_client sends a KeyUpdate ("K") and then data; dumpcap records it. The tree must show the new
    generation under the one it comes from, with the value RFC 8446 §7.2 gives."""
    openssl = require_binary("openssl")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem"), "-subj", "/CN=localhost", "-days", "2"],
                   check=True, capture_output=True, timeout=60)
    port, capture, keylog = free_port(), tmp_path / "ku.pcapng", tmp_path / "keys.log"
    with loopback_capture(capture, [port]):
        server = client = None
        try:
            server = subprocess.Popen([openssl, "s_server", "-accept", str(port), "-cert", str(tmp_path / "cert.pem"),
                                       "-key", str(tmp_path / "key.pem"), "-tls1_3", "-num_tickets", "0"],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            client = subprocess.Popen([openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3",
                                       "-keylogfile", str(keylog)],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            assert client.stdin is not None
            time.sleep(0.5)
            for line in (b"K\n", b"after the key update\n"):
                client.stdin.write(line)
                client.stdin.flush()
                time.sleep(0.3)
            client.stdin.close()
            client.wait(10)
        finally:
            for proc in (client, server):
                if proc is not None:
                    stop_process(proc)
    out = tmp_path / "ku.html"
    args: list[str | Path] = [capture, "--keylog", keylog]
    assert cli("decrypt", *args, "--html", out, "--show-secrets", "-q").returncode == 0
    opened, (section,) = dom(chromium, out)
    check_against_json([section], args)
    logged = {fields[0]: fields[2] for fields in (ln.split() for ln in keylog.read_text().splitlines()) if fields}
    for name in ("CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"):
        assert nodes_named(section, name)[0]["value"] == logged[name]
    # OpenSSL 3.0 logs no later generation: the client's next one is checked against RFC 8446 §7.2, computed here with
    # pyca's HKDF-Expand (application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length))
    first = bytes.fromhex(logged["CLIENT_TRAFFIC_SECRET_0"])
    assert nodes_named(section, "CLIENT_TRAFFIC_SECRET_1")[0]["value"] == next_secret(first).hex()
    parent = opened.page.evaluate("""() => Array.from(document.querySelectorAll('.tree li')).find(li =>
        li.querySelector(':scope > .name').textContent === 'CLIENT_TRAFFIC_SECRET_1')
        .parentElement.closest('li').querySelector(':scope > .name').textContent""")
    assert parent == "CLIENT_TRAFFIC_SECRET_0"  # next_traffic_secret comes from the one before (RFC 8446 §7.2)
    row = next(r for r in section["rows"] if r["key"] == "CLIENT_TRAFFIC_SECRET_1 (epoch 3)")
    shown = select(opened, row["id"])
    assert shown["seq"] == row["seq"] == "0"
    assert sorted(shown["highlighted"]) == ["CLIENT_TRAFFIC_SECRET_1", "CLIENT_TRAFFIC_SECRET_1 iv",
                                            "CLIENT_TRAFFIC_SECRET_1 key"]
    opened.page.context.close()


def test_tcp_retransmissions_are_marked_where_tshark_sees_them(chromium: Any, tmp_path: Path) -> None:
    """A real loopback capture with segments sent again (at once, much later, straddling two segments, with other
    bytes): one mark per retransmitted frame, with tshark's frame number, the bytes repeated (from tshark's relative
    sequence numbers) and the stream offset, placed after exactly the records tshark completes in earlier frames."""
    tshark = require_binary("tshark")
    capture, keylog, port = live_tls_capture(tmp_path, bytes(range(256)) * 400, bytes(range(255, -1, -1)) * 1000)
    linktype, frames = read_frames(capture)
    d = Damage(list(frames))
    server, client = d.data_frames(port), d.data_frames(dpkt_sport(frames[0][1]) or 0)
    assert len(server) > 16 and len(client) > 6, (len(server), len(client))
    d.altered_copy(server[14], server[15])
    d.overlap(server[10], server[11], server[12])
    d.duplicate(server[5], server[8])
    d.duplicate(server[3])
    d.duplicate(client[4])
    damaged = tmp_path / "retx.pcap"
    write_frames(damaged, d.frames, linktype)
    flagged = {f.number: f for f in tshark_tcp(tshark, damaged)
               if f.flags & {"retransmission", "spurious_retransmission", "fast_retransmission"}}
    assert len(flagged) == 5
    highest: dict[int, int] = {}  # per sender: just past the highest relative sequence number tshark had seen
    repeated: dict[int, int] = {}
    for f in tshark_tcp(tshark, damaged):
        top = highest.get(f.sport, 1)
        if f.number in flagged:
            repeated[f.number] = min(f.seq + f.length, top) - f.seq
        highest[f.sport] = max(top, f.seq + f.length)
    record_frames = tshark_record_frames(tshark, damaged, keylog)

    out = tmp_path / "retx.html"
    args: list[str | Path] = [damaged, "--keylog", keylog]
    assert cli("decrypt", *args, "--html", out, "-q").returncode == 0
    opened, sections = dom(chromium, out)
    check_against_json(sections, args)
    assert len(sections[0]["rows"]) == len(record_frames)  # one row per record, as tshark dissects them
    marks = [m for m in sections[0]["marks"] if m["kind"] == "retx"]
    assert [m["frame"] for m in marks] == sorted(flagged)
    for mark in marks:
        f = flagged[mark["frame"]]
        assert mark["length"] == repeated[f.number] > 0
        assert mark["offset"] == f.seq - 1  # tshark's relative seq 1 is stream offset 0
        lane = "server → client" if f.sport == port else "client → server"
        assert mark["text"].startswith(f"↻ TCP retransmission: {mark['length']} bytes again {lane} here "
                                       f"(frame {f.number}, stream offset {mark['offset']})")
        assert mark["before"] == sum(1 for frame in record_frames if frame < f.number)  # placed where it happened
    (conflict,) = [m for m in marks if m["conflict"]]
    assert conflict["text"].endswith(": 8 bytes differ from the first copy, which was used")
    facts = dict(re.findall(r"(\w+_retransmitted_bytes)(\d+)", sections[0]["facts"]))
    assert int(facts["server_to_client_retransmitted_bytes"]) == sum(
        n for number, n in repeated.items() if flagged[number].sport == port)
    opened.page.context.close()


def dpkt_sport(frame: bytes) -> int | None:
    import dpkt

    ip = dpkt.ethernet.Ethernet(frame).data
    return ip.data.sport if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP) else None


def test_connect_page_tls13_key_update_adds_a_generation(chromium: Any, pki: dict[str, Path], tmp_path: Path) -> None:
    """``connect --key-update --html`` against s_server -tls1_3: the KeyUpdate's generation 1 of both directions
    hangs under generation 0 with the value RFC 8446 §7.2 gives from OpenSSL's logged generation 0 (computed here
    with pyca's HKDF-Expand), and every record opens (none red, none without keys)."""
    keylog, out = tmp_path / "openssl.keys", tmp_path / "update.html"
    with s_server_www(pki, ["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"], keylog=keylog) as port:
        run = run_connect([f"127.0.0.1:{port}", "--cafile", str(pki["ca"]), "--servername", "localhost",
                           "--versions", "tls1.3", "--key-update", "--show-keys", "--html", str(out)])
    assert run.returncode == 0, run.stderr
    opened, (section,) = dom(chromium, out)
    theirs = {fields[0]: bytes.fromhex(fields[2]) for fields in map(str.split, keylog.read_text().splitlines())
              if len(fields) == 3 and not fields[0].startswith("#")}
    client_next = nodes_named(section, "CLIENT_TRAFFIC_SECRET_1")
    assert client_next and client_next[0]["value"] == next_secret(theirs["CLIENT_TRAFFIC_SECRET_0"]).hex()
    rows = section["rows"]
    assert any(row["key"] == "CLIENT_TRAFFIC_SECRET_1" for row in rows)
    assert all(row["verdict"] == "ok" for row in rows), [(r["key"], r["verdict"]) for r in rows]
    opened.page.context.close()
