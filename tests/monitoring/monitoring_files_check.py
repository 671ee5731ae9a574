#!/usr/bin/python3
"""unit: the monitoring files agree with each other, with nothing running.

Grafana cannot run here, so its provisioning is checked by what it names: the datasource uid every
panel asks for exists, the dashboards provider reads the folder compose mounts the board into, and
the home dashboard path is that board. Every alert in scripts/docker/alerts.yml has a severity, a
summary and a runbook entry in docs/operations.md's Alerts section, and compose's Prometheus loads it.
"""
import json
import os
import re
import unittest
from pathlib import Path

import yaml

SRC = Path(os.environ.get("SALDO_SOURCE_DIR") or Path(__file__).resolve().parents[2])
DOCKER = SRC / "scripts/docker"


def compose_mounts(service):
    """{container path: host path} of a compose service's bind mounts."""
    mounts = {}
    for m in service.get("volumes", []):
        parts = m.split(":")
        if parts[0].startswith("./"):
            mounts[parts[1]] = SRC / parts[0]
    return mounts


def board_panels(board):
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])  # rows hold their panels


class Grafana(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        compose = yaml.safe_load((SRC / "docker-compose.yml").read_text())
        cls.grafana = compose["services"]["grafana"]
        cls.mounts = compose_mounts(cls.grafana)
        cls.datasources = yaml.safe_load((DOCKER / "grafana/provisioning/datasources/prometheus.yml").read_text())
        cls.providers = yaml.safe_load((DOCKER / "grafana/provisioning/dashboards/saldo.yml").read_text())
        cls.board_path = DOCKER / "grafana/dashboards/saldo.json"
        cls.board = json.loads(cls.board_path.read_text())

    def test_provisioning_folder_is_mounted_where_grafana_reads_it(self):
        self.assertEqual(self.mounts.get("/etc/grafana/provisioning"), DOCKER / "grafana/provisioning")

    def test_every_panel_and_target_names_a_provisioned_datasource(self):
        uids = {d["uid"] for d in self.datasources["datasources"]}
        types = {d["uid"]: d["type"] for d in self.datasources["datasources"]}
        panels = list(board_panels(self.board))
        self.assertTrue(panels)
        for panel in panels:
            for ds in [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets", [])]:
                if ds is None:
                    continue  # a target without its own datasource uses the panel's
                self.assertIn(ds["uid"], uids, f"panel '{panel['title']}' names datasource {ds}")
                self.assertEqual(ds["type"], types[ds["uid"]], panel["title"])

    def test_datasource_points_at_compose_prometheus(self):
        (ds,) = self.datasources["datasources"]
        self.assertEqual(ds["type"], "prometheus")
        self.assertEqual(ds["url"], "http://prometheus:9090")

    def test_dashboard_provider_reads_the_mounted_board_folder(self):
        (provider,) = self.providers["providers"]
        path = provider["options"]["path"]
        self.assertEqual(self.mounts.get(path), self.board_path.parent,
                         f"the provider reads {path}, which compose does not mount from the board folder")
        self.assertTrue(any(p.suffix == ".json" for p in self.board_path.parent.iterdir()))

    def test_home_dashboard_is_the_board(self):
        home = Path(self.grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
        self.assertEqual(self.mounts.get(str(home.parent)) / home.name, self.board_path)

    def test_board_has_a_uid_a_title_and_only_prometheus_targets(self):
        self.assertEqual(self.board["uid"], "saldo")
        self.assertTrue(self.board["title"])
        for panel in board_panels(self.board):
            for target in panel.get("targets", []):
                self.assertTrue(target.get("expr"), f"panel '{panel['title']}' has a target without a query")


class Alerts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rules = [r for g in yaml.safe_load((DOCKER / "alerts.yml").read_text())["groups"] for r in g["rules"]]
        operations = (SRC / "docs" / "operations.md").read_text()
        cls.operations = operations.split("\n## Alerts\n", 1)[1].split("\n## ", 1)[0]

    def test_compose_prometheus_loads_the_rules(self):
        prom = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
        self.assertIn("alerts.yml", prom["rule_files"])
        compose = yaml.safe_load((SRC / "docker-compose.yml").read_text())
        mounts = compose_mounts(compose["services"]["prometheus"])
        self.assertEqual(mounts.get("/etc/prometheus/alerts.yml"), DOCKER / "alerts.yml")
        self.assertEqual(mounts.get("/etc/prometheus/prometheus.yml"), DOCKER / "prometheus.yml")

    def test_every_alert_has_severity_summary_and_a_runbook_entry(self):
        names = [r["alert"] for r in self.rules if "alert" in r]
        self.assertEqual(len(names), len(set(names)), "alert names repeat")
        self.assertGreaterEqual(len(names), 10)
        for r in self.rules:
            name = r["alert"]
            self.assertIn(r["labels"]["severity"], ("critical", "warning"), name)
            self.assertTrue(r["annotations"]["summary"], name)
            self.assertEqual(r["annotations"]["runbook"], f"docs/operations.md, Alerts: {name}")
            # One table row per alert: | `Name` | severity | meaning | what to do |
            row = re.search(rf"^\| `{name}` \| {r['labels']['severity']} \|[^\n]+\|[^\n]+\|$", self.operations, re.M)
            self.assertIsNotNone(row, f"docs/operations.md's Alerts section has no row for {name} ({r['labels']['severity']})")

    def test_operations_lists_no_alert_that_does_not_exist(self):
        names = {r["alert"] for r in self.rules}
        listed = set(re.findall(r"^\| `(Saldo\w+)` \|", self.operations, re.M))
        self.assertEqual(listed - names, set())


if __name__ == "__main__":
    unittest.main(verbosity=2)
