#!/usr/bin/env python3
"""Write the seed corpus of every fuzz target into fuzz/corpus/<target>/, derived at run time from
the real fixtures in ../shared/fixtures (or $VIRA_FIXTURES). Nothing here is committed: fuzz/corpus
is git-ignored, and libFuzzer adds what it finds next to these seeds.

Standard library only. Seeds are named seed-*, so rerunning replaces them and keeps the rest.
"""

import gzip
import io
import json
import os
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.environ.get("VIRA_FIXTURES") or os.path.join(HERE, "..", "..", "shared", "fixtures")
CORPUS = os.path.join(HERE, "corpus")


def fixture(path, binary=True):
    full = os.path.join(FIXTURES, path)
    if not os.path.exists(full):
        print(f"seeds: fixture {path} missing, skipped", file=sys.stderr)
        return None
    with open(full, "rb") as f:
        data = f.read()
    return data if binary else data.decode()


def load(path):
    data = fixture(path)
    if data is None:
        return None
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return json.loads(data)


def compact(value):
    return json.dumps(value, separators=(",", ":")).encode()


def write(target, name, data):
    if data is None:
        return
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"seed-{name}"), "wb") as f:
        f.write(data)


def finalize_pathoscope():
    t = "finalize_pathoscope"
    fitted = load("pathoscope/results.fitted.derived.json")
    if fitted is not None:
        write(t, "fitted-body", compact({"results": fitted}))
        small = dict(fitted)
        small["hits"] = [dict(h, align=h["align"][:150]) for h in fitted["hits"][:3]]
        write(t, "fitted-small-body", compact({"results": small}))
        write(t, "fitted-small-raw", json.dumps(small, indent=1))
        one = dict(fitted, hits=[dict(fitted["hits"][0], align=fitted["hits"][0]["align"][:20])])
        write(t, "fitted-one", compact({"results": one, "extra": [1, 2.5]}))
    legacy = load("pathoscope/results.json")
    if legacy is not None:
        trimmed = [dict(h, align=h["align"][:50]) for h in legacy[:2]]
        write(t, "legacy-list", compact({"results": trimmed}))
        write(t, "legacy-wrapped", compact({"results": {"hits": trimmed}}))
    hit = {
        "id": "s",
        "otu": {"id": "o", "version": 1},
        "align": [0, 1, 1, 2, 3, 3, 3, 0],
        "final": {"pi": 0.5, "best": 0.25, "high": 1, "low": 0.0, "reads": 3},
        "initial": {"pi": 0.5, "best": 0.25, "high": 1, "low": 0.0, "reads": 3},
        "coverage": 0.875,
        "depth": 1.5,
    }
    write(t, "synthetic", compact({"results": {"hits": [hit], "read_count": 5, "subtracted_count": 0}}))
    write(t, "synthetic-raw", compact({"read_count": 5, "hits": [hit, dict(hit, id="t", align=[])]}))
    write(t, "bad", b'{"results":{"hits":[{"id":null,"otu":7,"align":"x"}],"read_count":-1}}')


def finalize_nuvs():
    t = "finalize_nuvs"
    results = load("nuvs/results.json")
    if results is not None:
        write(t, "results-body", compact({"results": {"hits": results}}))
        small = []
        for contig in results[:3]:
            orfs = [dict(o, pro=o["pro"][:10], nuc=o.get("nuc", "")[:30]) for o in contig["orfs"][:3]]
            small.append(dict(contig, sequence=contig["sequence"][:40], orfs=orfs))
        write(t, "results-small", compact({"results": {"hits": small}}))
        write(t, "results-small-raw", json.dumps({"hits": small, "other": None}, indent=1))
    write(t, "synthetic", compact({"results": {"hits": [
        {"index": 3, "sequence": "ACGT", "orfs": [{"hits": [{"hit": "h1", "full_e": 1e-5}, {"hit": 17}]}]},
        {"index": -2, "sequence": "", "blast": {"stale": True}},
    ]}}))
    write(t, "bad", b'{"results":{"hits":[{"index":1.5},{"index":1,"sequence":null,"orfs":[null,{"hits":7}]}]}}')


def json_bodies():
    t = "json_bodies"
    bodies = {
        "analysis": {"ref_id": "r1", "workflow": "nuvs", "subtractions": ["a", "b", "a"]},
        "sample": {"name": "S", "group": None, "group_read": True, "all_write": False},
        "user": {"handle": "bob", "administrator": True, "groups": ["g"]},
        "group": {"name": "technicians"},
        "subtraction": {"name": "Arabidopsis", "nickname": "thale cress"},
        "acquire": {"acquired": True},
        "status": {"state": "error", "stage": "x", "progress": 100, "step_name": None,
                   "error": {"type": "E", "details": ["d"], "traceback": []}},
        "bad-types": {"name": 1, "workflow": "other", "progress": 101, "groups": [1], "acquired": False},
        "page": {"page": "2", "per_page": 100, "find": "x"},
    }
    for name, body in bodies.items():
        write(t, name, compact(body))
    write(t, "empty", b"  \n")
    write(t, "list", b"[1,2,3]")
    write(t, "malformed", b'{"name": ')


def query_and_paths():
    t = "query_and_paths"
    for i, q in enumerate([
        "abc123?page=2&per_page=25",
        "abc123/files/12?name=report.tsv&format=tsv",
        "a%2Fb?name=..%2F..%2Fetc%2Fpasswd&format=sam",
        "x/files/-9?name=caf%C3%A9%20(1).tsv&format=",
        "x?name=C:%5Cruns%5Chmm.tsv&format=bam&name=second",
        "x/files/99999999999999999999?name=%00%1f%7f.hidden&per_page=0",
        "%FF%FE?page=-1&per_page=1.5",
        "?name=" + "a" * 300,
    ]):
        write(t, str(i), q)


def multipart_body(parts, boundary="X"):
    out = io.BytesIO()
    for name, filename, data in parts:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"'
        out.write(disposition.encode() + b"\r\n")
        out.write(b"Content-Type: application/octet-stream\r\n\r\n")
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


def multipart():
    t = "multipart"
    # Byte 0: chunk size; byte 1: limit index (3 = 1 MiB).
    report = fixture("pathoscope/report.tsv") or b"a\tb\r\n"
    write(t, "report", bytes([255, 3]) + multipart_body([("file", "report.tsv", report)]))
    write(t, "report-small-chunks", bytes([7, 3]) + multipart_body([("file", "r.tsv", report[:300])]))
    write(t, "field-first", bytes([64, 2]) + multipart_body([("name", None, b"x"), ("file", "a.sam", b"@HD\n")]))
    write(t, "no-file", bytes([16, 2]) + multipart_body([("other", None, b"x")]))
    write(t, "too-large", bytes([3, 1]) + multipart_body([("file", "big", b"0123456789" * 5)]))
    annotations = fixture("hmm/annotations.json")
    if annotations:
        write(t, "annotations", bytes([200, 3]) + multipart_body([("file", "annotations.json", annotations)]))
    reference = fixture("reference/reference.json.gz")
    if reference:
        write(t, "reference-gz", bytes([255, 3]) + multipart_body([("file", "reference.json.gz", reference)]))
    write(t, "own-ct", bytes([32, 3]) + b"CT:multipart/form-data; boundary=\"b d\"\n"
          + multipart_body([("file", "q.fa", b">q\nACGT\n")], boundary="b d"))
    write(t, "not-multipart", bytes([32, 3]) + b"CT:application/json\n{}")


def gzip_imports():
    t = "gzip_imports"
    limit = bytes([3])  # 4 MiB
    reference = fixture("reference/reference.json.gz")
    write(t, "reference-gz", limit + reference if reference else None)
    otu = load("reference/otu_sample.json")
    if otu is not None:
        write(t, "otu-sample", limit + compact({"otus": [otu], "name": "n", "data_type": "genome"}))
        write(t, "otu-sample-list-gz", limit + gzip.compress(compact([otu]), mtime=0))
    annotations = fixture("hmm/annotations.json")
    if annotations:
        write(t, "annotations", limit + annotations)
        write(t, "annotations-gz", limit + gzip.compress(annotations, mtime=0))
        write(t, "annotations-gz-small-limit", bytes([1]) + gzip.compress(annotations, mtime=0))
    derived = load("hmm/nuvs_results_hmm_ids.derived.json")
    if derived is not None:
        write(t, "legacy-ids", limit + compact(derived["annotations"]))
    members = gzip.compress(b'[{"cluster": 1, ', mtime=0) + gzip.compress(b'"families": {}, "names": []}]', mtime=0)
    write(t, "two-members", limit + members)


def headers():
    t = "headers"
    for i, (size, value) in enumerate([
        (4462, "bytes=0-99"),
        (4462, "bytes=-500"),
        (4462, "bytes=100-"),
        (0, "bytes=0-0"),
        (10, "bytes=5-2, 7-8"),
        (1_507_066_554_813_000, "Tue, 03 Oct 2017 21:35:54 GMT"),
        (1_507_066_554_813_000, "Tuesday, 03-Oct-17 21:35:54 GMT"),
        (1_507_066_554_813_000, "Tue Oct  3 21:35:54 2017"),
        (1_507_066_554_813_000, "2017-10-03T23:35:54.999+02:00"),
        (1_507_066_554_813_000, "2017-10-03T21:35:54.5"),
        (0, "Basic dGVzdDpzZWNyZXQ="),
        (0, "basic  Ym9iOjpwYXNz:"),
    ]):
        write(t, str(i), struct.pack("<Q", size) + value.encode())


def ncbi_replies():
    t = "ncbi_replies"
    for path in [
        "blast/initialize_blast.html",
        "blast/check_rid.html",
        "blast/blast.zip",
        "blast/unformatted_blast.json",
        "blast/local_blastplus/outfmt13_as_ncbi.zip",
        "blast/local_blastplus/LOCALRID01_1.json",
        "blast/local_blastplus/outfmt15_masking.json",
    ]:
        write(t, os.path.basename(path), fixture(path))
    write(t, "put-small", "QBlastInfoBegin\n    RID = YA6M9135015\n    RTOE = 19\nQBlastInfoEnd\n")
    write(t, "searchinfo-small", "QBlastInfoBegin\n\tStatus=WAITING\nQBlastInfoEnd\n")
    report = fixture("blast/local_blastplus/LOCALRID01_1.json")
    if report:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("YA6M9135015.json", b'{"BlastJSON":[{"File":"YA6M9135015_1.json"}]}')
            z.writestr("YA6M9135015_1.json", report)
        write(t, "rezipped", buf.getvalue())


def blastn_output():
    t = "blastn_output"
    for path in ["outfmt15_hits.json", "outfmt15_masking.json", "outfmt15_nohits.json", "LOCALRID01_1.json"]:
        data = fixture("blast/local_blastplus/" + path)
        write(t, path, bytes([0]) + data if data else None)
    write(t, "exit-2", bytes([4]) + b'{"BlastOutput2":[' + b"\xff" + b"\n  BLAST Database error: No alias or index file found for nucleotide database [/srv/db]\n")
    write(t, "signal", bytes([7]) + b"\xff" + b"Killed\r\n")
    write(t, "no-stderr", bytes([5]))


def coverage():
    t = "coverage"
    arrays = load("pathoscope/coverage.json")
    if arrays:
        for i, (name, depths) in enumerate(list(arrays.items())[:6]):
            depths = depths[:60000]
            write(t, f"u32-{i}", bytes([2]) + struct.pack(f"<{len(depths)}I", *depths))
            write(t, f"u8-{i}", bytes([0]) + bytes(min(d, 255) for d in depths[:4000]))
    write(t, "small", bytes([1]) + bytes(range(200)))
    write(t, "extremes", bytes([2]) + struct.pack("<6I", 0, 2**32 - 1, 0, 0, 2**32 - 1, 1))


def export_floats():
    t = "export_floats"
    for i, f in enumerate([0.1, 1e16, 1014220594116628.25, 5e-324, -0.0, 1e-5, 123456789.125, 2.0**1023]):
        write(t, str(i), struct.pack("<d", f))
    for i, text in enumerate(["1.5e300", "12", "-0.0", "1E400", "18446744073709551615", 'a "quoted", cell']):
        write(t, f"text-{i}", text)


def main():
    if not os.path.isdir(FIXTURES):
        print(f"seeds: no fixtures at {FIXTURES}; targets start from synthetic seeds only", file=sys.stderr)
    for make in [finalize_pathoscope, finalize_nuvs, json_bodies, query_and_paths, multipart,
                 gzip_imports, headers, ncbi_replies, blastn_output, coverage, export_floats]:
        make()
    for target in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, target))
        print(f"seeds: {target}: {len(files)} files")


if __name__ == "__main__":
    main()
