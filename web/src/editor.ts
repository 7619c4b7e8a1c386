/**
 * The query editor: CodeMirror 6 with ADQL highlighting, completion of the
 * service's names and functions, and the server's own check of the query
 * (POST api/validate) underlined where it points, as the user types.
 */

import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { sql } from "@codemirror/lang-sql";
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { type Diagnostic, linter, lintGutter } from "@codemirror/lint";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { Compartment, EditorState, Prec } from "@codemirror/state";
import { EditorView, type KeyBinding, keymap, lineNumbers, placeholder } from "@codemirror/view";
import { adqlDialect, columnsInScope, functionCompletions, namespace, offsetOf, spanAt } from "./adql";
import { type Schema, type Validation, validate } from "./api";

export interface EditorActions {
  /** Ctrl/Cmd+Enter. */
  runNow: () => void;
  /** Ctrl/Cmd+Shift+Enter. */
  submit: () => void;
  /** Each check's outcome, for the status line under the editor. */
  checked: (outcome: Validation | { ok: false; message: string; unreachable: true }) => void;
}

/** Quiet time after the last keystroke before the server checks the query. */
const CHECK_DELAY_MS = 400;

export class QueryEditor {
  readonly view: EditorView;
  private readonly language = new Compartment();

  constructor(parent: HTMLElement, actions: EditorActions, initial = "") {
    const keys: KeyBinding[] = [
      { key: "Mod-Enter", run: () => (actions.runNow(), true) },
      { key: "Mod-Shift-Enter", run: () => (actions.submit(), true) },
    ];
    this.view = new EditorView({
      parent,
      state: EditorState.create({
        doc: initial,
        extensions: [
          lineNumbers(),
          history(),
          bracketMatching(),
          closeBrackets(),
          highlightSelectionMatches(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          placeholder("SELECT TOP 10 * FROM schema.table"),
          this.language.of(sql({ dialect: adqlDialect, upperCaseKeywords: true })),
          autocompletion({ activateOnTyping: true, icons: true }),
          linter((view) => this.check(view, actions), { delay: CHECK_DELAY_MS }),
          lintGutter(),
          Prec.highest(keymap.of(keys)),
          // Tab indents; Escape then Tab leaves the editor (CodeMirror's
          // documented escape hatch for keyboard users).
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...searchKeymap, ...completionKeymap, indentWithTab]),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ "aria-label": "ADQL query", "aria-multiline": "true" }),
        ],
      }),
    });
  }

  /** Completion of these schemas, tables and columns, and of these functions. */
  setNames(schemas: Schema[], udfs: { signature: string; description: string }[]) {
    const support = sql({ dialect: adqlDialect, schema: namespace(schemas), upperCaseKeywords: true });
    const functions = functionCompletions(udfs);
    this.view.dispatch({
      effects: this.language.reconfigure([
        support,
        support.language.data.of({ autocomplete: columnsInScope(schemas) }),
        support.language.data.of({
          autocomplete: (context: import("@codemirror/autocomplete").CompletionContext) => {
            const word = context.matchBefore(/\w+/);
            if (!word || context.state.sliceDoc(word.from - 1, word.from) === ".") return null;
            return { from: word.from, options: functions, validFor: /^\w*$/ };
          },
        }),
      ]),
    });
  }

  get text(): string {
    return this.view.state.doc.toString();
  }

  set text(query: string) {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: query } });
  }

  /** Inserts `text` at the cursor (a name clicked in the table browser), and focuses the editor. */
  insert(text: string) {
    const { from, to } = this.view.state.selection.main;
    const before = this.view.state.sliceDoc(from - 1, from);
    const glue = before && !/[\s(,.]/.test(before) ? " " : "";
    this.view.dispatch({
      changes: { from, to, insert: glue + text },
      selection: { anchor: from + glue.length + text.length },
      scrollIntoView: true,
    });
    this.view.focus();
  }

  focus() {
    this.view.focus();
  }

  private controller: AbortController | null = null;

  private async check(view: EditorView, actions: EditorActions): Promise<Diagnostic[]> {
    const text = view.state.doc.toString();
    this.controller?.abort();
    if (!text.trim()) return [];
    const controller = (this.controller = new AbortController());
    let outcome: Validation;
    try {
      outcome = await validate(text, controller.signal);
    } catch (e) {
      if (!controller.signal.aborted) actions.checked({ ok: false, message: String((e as Error).message ?? e), unreachable: true });
      return [];
    }
    // A newer keystroke has started another check: this one's positions are stale.
    if (view.state.doc.toString() !== text) return [];
    actions.checked(outcome);
    if (outcome.ok) {
      return outcome.warnings.map((w) => ({
        ...spanAt(text, offsetOf(text, w.line ?? 1, w.column ?? 1)),
        severity: "warning",
        message: w.message,
      }));
    }
    const span = outcome.line != null ? spanAt(text, offsetOf(text, outcome.line, outcome.column ?? 1)) : { from: 0, to: text.length };
    return [{ ...span, severity: "error", message: outcome.message, source: "ADQL" }];
  }
}
