// The Rules panel: the project's labeling rules and how each does over the whole pool, and a
// form to write one and try it (coverage, overlap, conflicts, accuracy on the human labels, a
// few items it votes on) before saving it. Only reviewers (or the one user of a local server)
// may save. Everything is rendered as text. An LLM that answered is listed after the rules
// (`llm`), measured as they are and per category (its accuracy, on the human labels, where it said it).
import { clear, el } from "./dom.js";

function share(value) {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`;
}

// `measuredOn`: "your labels" for an annotator who is not a reviewer (others' answers stay hidden).
function accuracyText(found, measuredOn) {
  const whose = measuredOn === "your labels" ? "of your " : "";
  if (!found.gold) return `no ${whose ? "item you labeled" : "labeled item"} to check it against yet`;
  return `right on ${Math.round(found.accuracy * found.gold)} ${whose || "of "}${found.gold} labeled item(s) `
    + `(${share(found.accuracy)})`;
}

function statsText(found, measuredOn) {
  return `votes on ${found.votes} item(s) (${share(found.coverage)}), overlaps ${share(found.overlap)}, `
    + `conflicts ${share(found.conflict)}; ${accuracyText(found, measuredOn)}`;
}

function llmItem(llm, measuredOn) {
  const categories = Object.entries(llm.categories).map(([key, found]) =>
    el("li", {}, `says ${key} on ${share(found.coverage)}: ${accuracyText(found, measuredOn)}`));
  return el("li", { className: "rule llm-voter" }, el("strong", {}, llm.name), ` (the LLM, any category): `
    + `${statsText(llm, measuredOn)}`, el("ul", { className: "llm-categories" }, categories));
}

function exampleText(data) {
  if (data.text !== undefined && data.text !== null) return String(data.text);
  if (data.path !== undefined) return String(data.path);
  return Object.entries(data).map(([k, v]) => `${k}: ${v}`).join(", ");
}

function select(label, options, value) {
  const node = el("select", { "aria-label": label }, options.map((option) => el("option", { value: option }, option)));
  if (value !== undefined) node.value = value;
  return node;
}

export function rulesPanel(api, config, showError) {
  const node = el("details", { className: "rules-panel" }, el("summary", {}, "Labeling rules"));
  const list = el("ul", { className: "rules-list" });
  const result = el("div", { className: "rule-preview", "aria-live": "polite" });
  const form = el("form", { className: "rule-form", "aria-label": "Write a rule" });
  let state = { rules: [], statistics: [], columns: [], canEdit: false };

  const fields = {
    name: el("input", { type: "text", maxlength: 64, "aria-label": "Rule name", placeholder: "Rule name" }),
    label: select("Rule category", config.categories.map((c) => c.key)),
    kind: select("Rule kind", ["keywords", "regex", "condition"]),
    column: select("Rule column", []),
    op: select("Rule operator", ["==", "!=", "<", "<=", ">", ">=", "contains", "is null", "not null"]),
    value: el("input", { type: "text", maxlength: 1000, "aria-label": "Rule value",
      placeholder: "Keywords, comma-separated" }),
  };
  const opRow = el("label", { hidden: true }, "Operator ", fields.op);
  fields.kind.addEventListener("change", () => {
    opRow.hidden = fields.kind.value !== "condition";
    fields.value.placeholder = { keywords: "Keywords, comma-separated", regex: "Regular expression (RE2)",
      condition: "Value" }[fields.kind.value];
  });

  function written() {
    const rule = { name: fields.name.value.trim(), label: fields.label.value, column: fields.column.value };
    const value = fields.value.value;
    if (fields.kind.value === "keywords") rule.keywords = value.split(",").map((k) => k.trim()).filter(Boolean);
    else if (fields.kind.value === "regex") rule.regex = value;
    else {
      rule.op = fields.op.value;
      if (!["is null", "not null"].includes(rule.op)) {
        const number = Number(value);
        rule.value = value.trim() !== "" && Number.isFinite(number) && rule.op !== "contains" ? number : value;
      }
    }
    return rule;
  }

  async function run(action) {
    try {
      await action();
    } catch (error) {
      showError(error);
    }
  }

  function show(found) {
    state = found;
    const current = fields.column.value;
    clear(fields.column).append(...found.columns.map((c) => el("option", { value: c }, c)));
    fields.column.value = found.columns.includes(current) ? current : (config.textColumn || found.columns[0] || "");
    clear(list);
    found.rules.forEach((rule, n) => {
      const stats = found.statistics[n];
      const toggle = el("button", { type: "button", disabled: !found.canEdit, onClick: () => run(() => save(
        found.rules.map((r, m) => (m === n ? { ...r, enabled: r.enabled === false } : r)))) },
      rule.enabled === false ? "Enable" : "Disable");
      const remove = el("button", { type: "button", disabled: !found.canEdit, onClick: () => run(() => save(
        found.rules.filter((_, m) => m !== n))) }, "Delete");
      list.append(el("li", { className: rule.enabled === false ? "rule off" : "rule" },
        el("strong", {}, rule.name), ` → ${rule.label}${rule.enabled === false ? " (disabled)" : ""}: ${statsText(stats, found.measuredOn)} `,
        toggle, remove));
    });
    if (!found.rules.length) list.append(el("li", {}, "No rules yet."));
    if (found.llm) list.append(llmItem(found.llm, found.measuredOn));
    form.querySelector(".save-rule").disabled = !found.canEdit;
  }

  async function save(rules) {
    show(await api.saveRules(rules));
  }

  const preview = el("button", { type: "button", onClick: () => run(async () => {
    const found = await api.previewRule(written());
    clear(result).append(el("p", {}, `This rule ${statsText(found, found.measuredOn)}.`),
      el("ul", { className: "rule-examples" }, found.examples.map((e) => el("li", {}, exampleText(e.data)))));
  }) }, "Preview");
  const saveRule = el("button", { type: "submit", className: "save-rule" }, "Save rule");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const rule = written();
    run(async () => {
      await save([...state.rules.filter((r) => r.name !== rule.name), rule]);
      result.textContent = `Saved “${rule.name}”.`;
    });
  });
  form.append(fields.name, el("label", {}, "Category ", fields.label), el("label", {}, "Kind ", fields.kind),
    el("label", {}, "Column ", fields.column), opRow, fields.value, el("div", {}, preview, saveRule));
  node.append(list, form, result);
  node.addEventListener("toggle", () => {
    if (node.open) run(async () => show(await api.rules()));
  });
  return node;
}
