"""Editing an IVR tree in its plain form (what the YAML holds, ``cc.domain.ivr.tree_to_dict``): the
operations of ``cc ivr edit`` with an undo stack. Pure: stdlib only, no I/O.

A draft may be invalid while it is edited (a new menu without branches, a queue without a name); it is
checked by the same code as ``cc ivr validate`` (``cc.services.ivr.check_plain``) before it is saved.

Edges: a node leads to others through its menu ``branches`` (slot ``branch:KEY``), ``next`` and
``on_fail``. The outline shows the tree from each entry point like ``cc ivr show``: a node reached a
second time is a reference; nodes no entry reaches are listed last.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from cc.domain import ivr

BRANCH = "branch:"
EDGE_FIELDS = ("next", "on_fail")
MAX_UNDO = 100
TOP_FIELDS = ("name", "language", "start", "entries", "blacklist_prompt", "goodbye_prompt")
KEEP = object()  # move(): keep the branch's condition


class EditError(ValueError):
    """An edit that cannot be made (a key already taken, a node that does not exist...)."""


@dataclass(frozen=True)
class Row:
    """One line of the outline."""

    depth: int
    node: str
    parent: str | None  # None: an entry point (or an unreachable node) at the top
    slot: str | None  # branch:KEY | next | on_fail | None
    label: str  # how the parent reaches it: "1", "2 (known)", "then", "on fail", "inbound", ...
    ref: bool = False  # shown above already
    missing: bool = False  # no such node (a dangling target)


def branch_target(value: Any) -> str:
    return str(value.get("to", "")) if isinstance(value, dict) else str(value)


def key_of(slot: str | None) -> str | None:
    return slot[len(BRANCH):] if slot and slot.startswith(BRANCH) else None


class Draft:
    def __init__(self, plain: dict[str, Any]) -> None:
        self.data: dict[str, Any] = copy.deepcopy(plain)
        self.data.setdefault("nodes", {})
        self.data.setdefault("prompts", {})
        self._undo: list[tuple[str, dict[str, Any]]] = []
        self.changes = 0  # edits since loading or saving

    # -- reading ------------------------------------------------------------------------------------------
    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        return self.data["nodes"]

    @property
    def prompts(self) -> dict[str, str]:
        return self.data["prompts"]

    def node(self, nid: str) -> dict[str, Any]:
        found = self.nodes.get(nid)
        if not isinstance(found, dict):
            raise EditError(f"there is no node '{nid}'")
        return found

    def edges(self, nid: str) -> list[tuple[str, str, str]]:
        """(slot, label, target) for each way out of a node, branches first in their order."""
        node = self.nodes.get(nid)
        if not isinstance(node, dict):
            return []
        out: list[tuple[str, str, str]] = []
        for key, value in (node.get("branches") or {}).items():
            when = value.get("when") if isinstance(value, dict) else None
            out.append((BRANCH + str(key), f"{key} ({when})" if when else str(key), branch_target(value)))
        for field in EDGE_FIELDS:
            if node.get(field):
                out.append((field, "then" if field == "next" else "on fail", str(node[field])))
        return out

    def entry_points(self) -> list[tuple[str, str]]:
        entries = [("inbound", str(self.data.get("start") or ""))]
        entries += [(str(k), str(v)) for k, v in (self.data.get("entries") or {}).items()]
        return entries

    def reachable(self) -> set[str]:
        seen: set[str] = set()
        todo = [nid for _, nid in self.entry_points() if nid in self.nodes]
        while todo:
            nid = todo.pop()
            if nid in seen:
                continue
            seen.add(nid)
            todo += [t for _, _, t in self.edges(nid) if t in self.nodes]
        return seen

    def outline(self) -> list[Row]:
        rows: list[Row] = []
        shown: set[str] = set()

        def walk(nid: str, depth: int, parent: str | None, slot: str | None, label: str) -> None:
            if nid not in self.nodes:
                rows.append(Row(depth, nid, parent, slot, label, missing=True))
                return
            if nid in shown:
                rows.append(Row(depth, nid, parent, slot, label, ref=True))
                return
            shown.add(nid)
            rows.append(Row(depth, nid, parent, slot, label))
            for child_slot, child_label, target in self.edges(nid):
                walk(target, depth + 1, nid, child_slot, child_label)

        for name, nid in self.entry_points():
            walk(nid, 0, None, None, name)
        for nid in self.nodes:
            if nid not in shown:
                walk(nid, 0, None, None, "unreachable")
        return rows

    def free_keys(self, menu: str) -> list[str]:
        used = {str(k) for k in (self.node(menu).get("branches") or {})}
        return [k for k in ivr.KEYS if k not in used]

    def tree(self) -> ivr.Tree:
        """The draft as a tree (raises ``ivr.TreeError`` naming each problem)."""
        return ivr.tree_from_dict(self.data)

    # -- undo ---------------------------------------------------------------------------------------------
    def _checkpoint(self, what: str) -> None:
        self._undo.append((what, copy.deepcopy(self.data)))
        del self._undo[:-MAX_UNDO]
        self.changes += 1

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self) -> str | None:
        """Go back before the last edit; returns what was undone (None: nothing to undo)."""
        if not self._undo:
            return None
        what, self.data = self._undo.pop()
        self.changes = max(self.changes - 1, 0)
        return what

    # -- edits --------------------------------------------------------------------------------------------
    def set_fields(self, nid: str, values: dict[str, Any]) -> bool:
        """Set a node's fields (None or "" removes one). Returns False when nothing changed."""
        node = self.node(nid)
        changed = {k: v for k, v in values.items() if node.get(k) != (None if v in ("", None, [], {}) else v)}
        if not changed:
            return False
        self._checkpoint(f"edit {nid}: {', '.join(changed)}")
        for key, value in changed.items():
            if value in ("", None, [], {}):
                node.pop(key, None)
            else:
                node[key] = value
        return True

    def set_top(self, values: dict[str, Any]) -> bool:
        """Set the tree's own settings (name, language, start, entries, blacklist_prompt, goodbye_prompt);
        None or "" removes one. Returns False when nothing changed."""
        unknown = [k for k in values if k not in TOP_FIELDS]
        if unknown:
            raise EditError(f"'{unknown[0]}' is not a tree setting (they are: {', '.join(TOP_FIELDS)})")
        changed = {k: v for k, v in values.items() if self.data.get(k) != (None if v in ("", None, {}) else v)}
        if not changed:
            return False
        self._checkpoint(f"tree: {', '.join(changed)}")
        for key, value in changed.items():
            if value in ("", None, {}):
                self.data.pop(key, None)
            else:
                self.data[key] = value
        return True

    def set_kind(self, nid: str, kind: str) -> bool:
        """Change a node's kind; fields the new kind does not take are dropped."""
        if kind not in ivr.KINDS:
            raise EditError(f"unknown kind {kind!r} (one of: {', '.join(ivr.KINDS)})")
        node = self.node(nid)
        if node.get("kind") == kind:
            return False
        self._checkpoint(f"{nid}: kind {node.get('kind')} -> {kind}")
        allowed = ivr.KIND_KEYS[kind]
        kept = {k: v for k, v in node.items() if k in allowed}
        node.clear()
        node.update({"kind": kind, **kept})
        return True

    def set_prompt(self, pid: str, text: str) -> bool:
        text = text.strip()
        if self.prompts.get(pid) == text:
            return False
        if not text:
            raise EditError(f"prompt '{pid}' needs its text")
        self._checkpoint(f"prompt {pid}")
        self.prompts[pid] = text
        return True

    def add_branch(self, menu: str, key: str, target: str, kind: str = "hangup") -> bool:
        """A new branch of a menu on ``key`` to ``target``; a new node of ``kind`` when there is none.
        Returns True when a node was created."""
        node = self.node(menu)
        if node.get("kind") != "menu":
            raise EditError(f"'{menu}' is a {node.get('kind')} node; branches belong to menus")
        key, target = key.strip(), target.strip()
        self._check_key(menu, key)
        if not target:
            raise EditError("the branch needs a target node id")
        created = target not in self.nodes
        if created:
            if kind not in ivr.KINDS:
                raise EditError(f"unknown kind {kind!r} (one of: {', '.join(ivr.KINDS)})")
            if not ivr._ID.match(target):
                raise EditError(f"node id '{target}' may use only letters, digits, _ . - (at most 64)")
        self._checkpoint(f"add branch {menu} {key} -> {target}")
        node.setdefault("branches", {})[key] = target
        if created:
            self.nodes[target] = {"kind": kind}
        return created

    def _check_key(self, menu: str, key: str) -> None:
        if len(key) != 1 or key not in ivr.KEYS:
            raise EditError(f"{key!r} is not a phone key (0-9, *, #)")
        branches = self.node(menu).get("branches") or {}
        if key in {str(k) for k in branches}:
            raise EditError(f"key {key} of '{menu}' is taken (free: {' '.join(self.free_keys(menu)) or 'none'})")
        if len(branches) >= ivr.MAX_BRANCHES:
            raise EditError(f"'{menu}' has {len(branches)} branches already; a menu takes at most {ivr.MAX_BRANCHES}")

    def remove(self, parent: str | None, slot: str | None) -> list[str]:
        """Remove a branch (or a next / on_fail link) and the nodes only it led to. Returns the removed
        node ids."""
        if parent is None or slot is None:
            raise EditError("an entry point cannot be removed")
        node = self.node(parent)
        before = self.reachable()
        self._checkpoint(f"remove {parent} {slot}")
        self._unlink(node, slot)
        gone = [nid for nid in self.nodes if nid in before and nid not in self.reachable()]
        for nid in gone:
            del self.nodes[nid]
        return gone

    def _unlink(self, node: dict[str, Any], slot: str) -> Any:
        key = key_of(slot)
        if key is not None:
            branches = node.get("branches") or {}
            found = next((k for k in branches if str(k) == key), None)
            if found is None:
                raise EditError(f"no branch on key {key}")
            value = branches.pop(found)
            return value
        if slot not in EDGE_FIELDS or not node.get(slot):
            raise EditError(f"no '{slot}' link to remove")
        return node.pop(slot)

    def reorder(self, parent: str, slot: str, delta: int) -> bool:
        """Move a branch up (delta -1) or down (+1) among its menu's branches (keys stay)."""
        key = key_of(slot)
        if key is None:
            raise EditError("only menu branches have an order")
        node = self.node(parent)
        items = list((node.get("branches") or {}).items())
        index = next((i for i, (k, _) in enumerate(items) if str(k) == key), None)
        if index is None:
            raise EditError(f"no branch on key {key}")
        other = index + delta
        if not 0 <= other < len(items):
            return False
        self._checkpoint(f"reorder {parent} {key}")
        items[index], items[other] = items[other], items[index]
        node["branches"] = dict(items)
        return True

    def move(self, parent: str, slot: str, menu: str, key: str, when: Any = KEEP, target: str | None = None) -> None:
        """Move a branch (with what it leads to) to ``menu`` on ``key``; the same menu with another key
        changes the branch's key. ``when``: the branch's condition (known | unknown | vip | None), kept
        unless given; ``target``: another existing node for the branch to lead to."""
        if when is not KEEP and when is not None and when not in ivr.CONDITIONS:
            raise EditError(f"a branch's condition is one of: {', '.join(ivr.CONDITIONS)} (or none)")
        if target and target not in self.nodes:
            raise EditError(f"there is no node '{target}' (a new node is added with a new branch)")
        source = self.node(parent)
        target_menu = self.node(menu)
        if target_menu.get("kind") != "menu":
            raise EditError(f"'{menu}' is a {target_menu.get('kind')} node; branches belong to menus")
        key = key.strip()
        before = copy.deepcopy(self.data)
        value = self._unlink(source, slot)
        try:
            self._check_key(menu, key)
        except EditError:
            self.data = before
            raise
        self._undo.append((f"move {parent} {slot} -> {menu} {key}", before))
        del self._undo[:-MAX_UNDO]
        self.changes += 1
        if when is not KEEP or target:
            cond = (value.get("when") if isinstance(value, dict) else None) if when is KEEP else when
            to = target or branch_target(value)
            value = {"to": to, "when": cond} if cond else to
        target_menu.setdefault("branches", {})[key] = value

    def delete_node(self, nid: str) -> None:
        """Delete a node that no entry reaches (what is left after its branch was changed elsewhere)."""
        self.node(nid)
        if nid in self.reachable():
            raise EditError(f"'{nid}' is in use: remove the branch that leads to it instead")
        self._checkpoint(f"delete {nid}")
        del self.nodes[nid]

    def add_node_id(self, base: str) -> str:
        """A free node id close to ``base``."""
        clean = "".join(c if c.isalnum() or c in "_.-" else "_" for c in base)[:60] or "node"
        nid, n = clean, 2
        while nid in self.nodes:
            nid, n = f"{clean}_{n}", n + 1
        return nid
