#!/usr/bin/env python3
"""Writes the benchmark scenarios into bench/scenarios/<name>/{request.json,settings.json}.

Each scenario is an AdmissionReview request and policy settings. The same files drive
`harness bench` (with replayed host answers) and tests/host_calls.rs, which asserts that the
policy asks the host exactly once per distinct (image, rule) pair in every scenario.
Run: python3 bench/scenarios.py (the output is committed).
"""
import fnmatch
import json
import os
import shutil

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "scenarios")
KEY = open(os.path.join(ROOT, "..", "test_data", "pki", "cosign.pub")).read()


def rule(glob):
    return {"image": glob, "pubKeys": [KEY]}


def pod(images, kind=("", "v1", "Pod")):
    group, version, name = kind
    spec = {"containers": [{"name": f"c{i}", "image": img} for i, img in enumerate(images)]}
    if name == "Pod":
        obj_spec = spec
    elif name == "CronJob":
        obj_spec = {"schedule": "@hourly", "jobTemplate": {"spec": {"template": {"spec": spec}}}}
    else:
        obj_spec = {"selector": {"matchLabels": {"app": "bench"}},
                    "template": {"metadata": {"labels": {"app": "bench"}}, "spec": spec}}
    api = f"{group}/{version}" if group else version
    return {
        "uid": "bench",
        "kind": {"group": group, "version": version, "kind": name},
        "resource": {"group": group, "version": version, "resource": name.lower() + "s"},
        "name": "bench", "namespace": "default", "operation": "CREATE",
        "userInfo": {"username": "bench"},
        "object": {"apiVersion": api, "kind": name,
                   "metadata": {"name": "bench", "namespace": "default"}, "spec": obj_spec},
    }


def image(i):
    return f"registry.bench.local/team/app{i}:v1"


def long_image(i):
    return f"registry.bench.local/team/{'a' * 200}/app{i}:v1"


SCENARIOS = {
    # name: (request, rules, distinct (image, rule) pairs)
    "pod-1-container-1-rule": (pod([image(0)]), [rule("registry.bench.local/*")], 1),
    "pod-10-containers-1-image": (pod([image(0)] * 10), [rule("registry.bench.local/*")], 1),
    "pod-100-containers-10-images": (pod([image(i % 10) for i in range(100)]), [rule("registry.bench.local/*")], 10),
    "pod-1000-containers-10-images": (pod([image(i % 10) for i in range(1000)]), [rule("registry.bench.local/*")], 10),
    "pod-1000-containers-200-rules": (pod([image(i % 10) for i in range(1000)]),
                                      [rule(f"other{i}.example/*") for i in range(198)] + [rule("registry.bench.local/*"), rule("*/team/*")], 20),
    "rules-1-no-match": (pod([image(i) for i in range(5)]), [rule("other.example/*")], 0),
    "rules-50-no-match": (pod([image(i) for i in range(5)]), [rule(f"other{i}.example/*") for i in range(50)], 0),
    "rules-500-no-match": (pod([image(i) for i in range(5)]), [rule(f"other{i}.example/*") for i in range(500)], 0),
    "rules-50-two-match": (pod([image(i) for i in range(5)]),
                           [rule(f"other{i}.example/*") for i in range(48)] + [rule("registry.bench.local/*"), rule("*/team/*")], 10),
    "deployment-3-containers": (pod([image(i) for i in range(3)], ("apps", "v1", "Deployment")), [rule("registry.bench.local/*")], 3),
    "cronjob-3-containers": (pod([image(i) for i in range(3)], ("batch", "v1", "CronJob")), [rule("registry.bench.local/*")], 3),
    # Adversarial (issue 14): a 2.6 MB Pod of 10,000 distinct long names against 300 rules that
    # start with `*` and match none of them; must finish well inside policy-server's 2 s.
    "adversarial-10000-long-names-300-star-rules": (
        pod([long_image(i) for i in range(10000)]),
        [rule(f"*.other{i}.example/*") for i in range(300)], 0),
    "reject-100-failures": (pod([f"registry.bench.local/unsigned/app{i}:v1" for i in range(100)]), [rule("registry.bench.local/*")], 100),
}


DIGEST = "sha256:" + "ab" * 32


def containers_of(request):
    spec = request["object"]["spec"]
    while "containers" not in spec:
        spec = spec.get("template", spec.get("jobTemplate", {})).get("spec", {})
    return spec["containers"]


def session(request, rules, signed):
    """The host exchanges the policy makes, in its order: each distinct (image, rule) once,
    images in container order, rules in settings order (kwctl's session format)."""
    exchanges, seen = [], set()
    for container in containers_of(request):
        image = container["image"]
        for index, rule in enumerate(rules):
            if (image, index) in seen or not fnmatch.fnmatchcase(image, rule["image"]):
                continue
            seen.add((image, index))
            asked = {"image": image, "pub_keys": rule["pubKeys"], "annotations": None}
            response = ({"type": "Success", "payload": json.dumps({"is_trusted": True, "digest": DIGEST})}
                        if signed else
                        {"type": "Error", "message": f"Callback evaluation failure: no signatures found for image: {image} "})
            exchanges.append({"type": "Exchange", "request": "!SigstorePubKeyVerify " + json.dumps(asked),
                              "response": response})
    return exchanges


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    for name, (request, rules, pairs) in SCENARIOS.items():
        directory = os.path.join(OUT, name)
        os.makedirs(directory)
        with open(os.path.join(directory, "request.json"), "w") as f:
            json.dump({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}, f)
        with open(os.path.join(directory, "settings.json"), "w") as f:
            json.dump({"signatures": rules}, f)
        signed = not name.startswith("reject")
        exchanges = session(request, rules, signed)
        assert len(exchanges) == pairs, (name, len(exchanges), pairs)
        with open(os.path.join(directory, "session.yml"), "w") as f:
            json.dump(exchanges, f, indent=1)  # JSON is YAML: kwctl and the harness read it
        with open(os.path.join(directory, "expect.json"), "w") as f:
            json.dump({"host_calls": pairs, "signed": signed}, f)
    print(f"{len(SCENARIOS)} scenarios in {OUT}")


if __name__ == "__main__":
    main()
