"""A tier's derivation in sentences: the rule that assigned it, the distance to the next tier's
threshold, ranks within groups, limits that acted, clusters: all from recorded tier steps."""

from __future__ import annotations

from audit.explain.result import LimitActed, TierDetail
from audit.explain.words import format_value, group_key, squash
from audit.store import (
    NodeInfo,
    TierStep,
)
from dsl.numbers import format_number
from interpreter.trace import rule_prefix


class TierSentences:
    def tier_detail(self, node: NodeInfo) -> TierDetail:
        spec = node.tier or {}
        owner = self.at.get(node.level, self.entity)
        steps = self.store.tier_steps(self.run.id, node.name, owner.position)
        step = (
            steps[0]
            if steps
            else TierStep(node.name, owner.position, None, -1, None, (), (), None)
        )
        rules = spec.get("rules", [])
        rule = rules[step.rule_index] if 0 <= step.rule_index < len(rules) else None
        limits = []
        for index in step.limits_acted:
            limit = spec["limits"][index]
            before = step.before_limits if index == 0 else step.after[index - 1]
            after = step.after[index] if index < len(step.after) else None
            limits.append(
                LimitActed(
                    index, limit["direction"], limit["label"], limit["condition"], before, after
                )
            )
        ranks = []
        recorded = self.store.rank(self.run.id, node.name, owner.position)
        stats = self.scalars.get(node.name, {})
        labels = [r["label"] for r in rules]
        if step.from_value is not None and recorded is not None:
            tried = rules if step.rule_index < 0 else rules[: step.rule_index + 1]
            for r in tried:
                if r.get("kind") != "rank":
                    continue
                if r.get("within"):
                    ranks.append(self.rank_within(node, r, r["index"] == step.rule_index))
                    continue
                top = r["direction"] == "top"
                ranks.append(
                    {
                        "rule_index": r["index"],
                        "label": r["label"],
                        "direction": r["direction"],
                        "count": r["count"],
                        "percent": r["percent"],
                        "rank": recorded.from_rank_top if top else recorded.from_rank_bottom,
                        "n": recorded.scored,
                        "wanted": stats.get(f"{rule_prefix(labels, r['index'])}.count"),
                        "held": r["index"] == step.rule_index,
                    }
                )
        return TierDetail(
            label=step.display,
            before_limits=step.before_limits,
            rule_index=step.rule_index,
            rule=rule,
            from_text=spec.get("from"),
            from_value=step.from_value,
            limits=tuple(limits),
            next_up=self.next_up(spec, step),
            ranks=tuple(ranks),
            run_rank=None if recorded is None or recorded.rank is None else (recorded.rank, recorded.rated),
        )

    @staticmethod
    def next_up(spec: dict, step: TierStep) -> dict | None:
        """How far the `from` value is from the next tier up, when a single threshold rule
        assigns that tier."""
        scale = spec.get("scale") or []
        if step.before_limits is None or step.from_value is None or step.before_limits not in scale:
            return None
        position = scale.index(step.before_limits)
        if position + 1 >= len(scale):
            return None
        up = scale[position + 1]
        assigning = [r for r in spec.get("rules", []) if r["label"] == up]
        if len(assigning) != 1 or assigning[0].get("kind") != "threshold":
            return None
        rule = assigning[0]
        threshold = rule.get("threshold")
        if threshold is None:
            return None
        if rule["op"] in (">=", ">"):
            distance, side = threshold - step.from_value, "below"
        elif rule["op"] in ("<=", "<"):
            distance, side = step.from_value - threshold, "above"
        else:
            return None
        if not distance > 0:
            return None
        return {
            "label": up,
            "op": rule["op"],
            "threshold": threshold,
            "distance": distance,
            "side": side,
        }

    def threshold_of_entity(self, text: str) -> str:
        """A threshold that differs by entity: its text, and the entity's recorded value when
        the threshold is a node (`>= regional_target` -> `regional_target 0.85`)."""
        name = text.strip()
        if name in self.nodes and self.readable(self.nodes[name]):
            value, _ = self.value(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return f"{name} {format_number(value)}"
        return text

    def rank_within(self, node: NodeInfo, rule: dict, held: bool) -> dict:
        """A `top N within G` rule: the entity's group and the count and edge the run recorded
        for that group (interpreter.tiers)."""
        group = self.value(rule["within"])[0]
        prefix = rule["label"] if [r["label"] for r in (node.tier or {}).get("rules", [])].count(
            rule["label"]) == 1 else f"{rule['label']}#{rule['index']}"
        recorded = self.scalars.get(node.name, {})
        return {
            "rule_index": rule["index"],
            "label": rule["label"],
            "direction": rule["direction"],
            "count": rule["count"],
            "percent": rule["percent"],
            "within": rule["within"],
            "group": group,
            "taken": recorded.get(f"{prefix}.count[{group_key(group)}]"),
            "edge": recorded.get(f"{prefix}.edge[{group_key(group)}]"),
            "held": held,
        }

    @staticmethod
    def rank_within_words(r: dict) -> str:
        side = ">=" if r["direction"] == "top" else "<="
        group = f"within {r['within']} {format_value(r['group'], '')}"
        if r.get("edge") is None:
            return f"{group}: no entity taken"
        taken = format_number(r["taken"]) if r.get("taken") is not None else "?"
        return f"{group}: the {r['direction']} {taken} taken are those {side} {format_number(r['edge'])}"

    def tier_sentences(self, node: NodeInfo, tier: TierDetail) -> list[str]:
        spec = node.tier or {}
        rules = spec.get("rules", [])
        from_part = ""
        if tier.from_text is not None and tier.from_value is not None:
            from_part = f"{squash(tier.from_text)} {format_number(tier.from_value)}"
        out = []
        for r in tier.ranks:
            if r["held"]:
                continue
            if "within" in r:
                out.append(f"not taken for {r['label']}: {from_part}; {self.rank_within_words(r)}")
                continue
            out.append(
                f"not {self.rank_words(r)} for {r['label']}: {from_part} ranks "
                f"{r['rank']} of {r['n']} {self.rank_side(r)}"
            )
        rule = tier.rule
        if rule is not None:
            head = (
                f"rule {tier.rule_index + 1} of {len(rules)} ({squash(rule['text'])}) "
                f"assigned {tier.before_limits}"
            )
            kind = rule.get("kind")
            if kind == "threshold":
                threshold = (
                    format_number(rule["threshold"])
                    if rule.get("threshold") is not None
                    else self.threshold_of_entity(rule.get("threshold_text", ""))
                )
                out.append(f"{head}: {from_part} {rule['op']} {threshold}")
            elif kind == "rank":
                r = next(x for x in tier.ranks if x["held"]) if tier.ranks else None
                if r is not None and "within" in r:
                    out.append(f"{head}: {from_part}; {self.rank_within_words(r)}")
                elif r is not None:
                    out.append(
                        f"{head}: {from_part} ranks {r['rank']} of {r['n']} "
                        f"{self.rank_side(r)}, {self.rank_words(r)}"
                    )
                else:
                    out.append(head)
            elif kind == "otherwise":
                out.append(
                    f"{head}: no earlier rule held" + (f" for {from_part}" if from_part else "")
                )
            else:
                out.append(f"{head}: {squash(rule['condition'])} held")
        else:
            _, reason = self.value(node.name)
            if tier.from_text is not None and tier.from_value is None:
                sentence = f"no tier: {squash(tier.from_text)} is missing"
            elif reason == "no_rule_held":
                sentence = "no tier: no rule held and there is no otherwise"
            else:
                sentence = "no tier: a rule's condition was missing before any rule held"
            if tier.label is not None:
                sentence += f"; given the missing label {tier.label}"
            out.append(sentence)
        for limit in tier.limits:
            verb = "limited to at most" if limit.direction == "at most" else "raised to at least"
            out.append(
                f"limit {limit.index + 1}: {verb} {limit.label} because "
                f"{squash(limit.condition)} ({limit.before} -> {limit.after})"
            )
        if tier.run_rank is not None:
            out.append(f"rank {tier.run_rank[0]} of {tier.run_rank[1]} in this run")
        if tier.next_up is not None:
            up = tier.next_up
            out.append(
                f"{format_number(up['distance'])} {up['side']} the threshold for "
                f"{up['label']} ({up['op']} {format_number(up['threshold'])})"
            )
        return out

    @staticmethod
    def rank_side(r: dict) -> str:
        return "from the top" if r["direction"] == "top" else "from the bottom"

    @staticmethod
    def rank_words(r: dict) -> str:
        if r["percent"]:
            # the share as written; how many entities the rule asked for as the run counted them
            wanted = "" if r.get("wanted") is None else f" ({format_number(r['wanted'])} of {r['n']})"
            return f"in the {r['direction']} {format_number(r['count'] * 100)}%{wanted}"
        return f"in the {r['direction']} {format_number(r['count'])}"
