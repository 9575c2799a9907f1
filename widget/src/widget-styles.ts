// The widget's stylesheet. Host pages theme it through the --msl-* custom properties listed in the README.
/** The widget's CSS, adopted into its shadow root. */
export const WIDGET_CSS = `
:host {
  --_accent: var(--msl-accent, #0b57d0);
  --_on-accent: var(--msl-accent-text, #ffffff);
  --_bg: var(--msl-background, #ffffff);
  --_surface: var(--msl-surface, #f5f7fa);
  --_text: var(--msl-text, #1b1f24);
  --_muted: var(--msl-muted, #4b5563);
  --_border: var(--msl-border, #cfd6e0);
  --_ok: var(--msl-ok, #14693a);
  --_warn: var(--msl-warning, #8a4600);
  --_warn-bg: var(--msl-warning-background, #fff4e0);
  --_error: var(--msl-error, #b3261e);
  --_radius: var(--msl-radius, 10px);
  --_focus: var(--msl-focus, #0b57d0);
  display: block;
  max-width: var(--msl-max-width, 44rem);
  color: var(--_text);
  font-family: var(--msl-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: var(--msl-font-size, 1rem);
  line-height: 1.5;
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.box { background: var(--_bg); border: 1px solid var(--_border); border-radius: var(--_radius); padding: 1.25rem; }
h2 { font-size: 1.25em; margin: 0 0 .75rem; }
h3 { font-size: 1.05em; margin: 0; display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; }
p { margin: .5rem 0; }
a { color: var(--_accent); }
label.main { display: block; font-weight: 600; margin-bottom: .35rem; }
.search { display: flex; flex-wrap: wrap; gap: .5rem; }
.search input {
  flex: 1 1 14rem; min-width: 0; font: inherit; padding: .6rem .75rem; color: var(--_text); background: var(--_bg);
  border: 1px solid var(--_muted); border-radius: calc(var(--_radius) * .6);
}
button {
  font: inherit; cursor: pointer; border-radius: calc(var(--_radius) * .6); border: 1px solid var(--_accent);
  padding: .6rem 1rem; background: var(--_accent); color: var(--_on-accent); font-weight: 600;
}
button:hover { filter: brightness(1.1); }
button[disabled] { opacity: .7; cursor: progress; }
:focus-visible { outline: 3px solid var(--_focus); outline-offset: 2px; }
.status { min-height: 1.5em; margin: .75rem 0 0; color: var(--_muted); }
.status.problem { color: var(--_error); font-weight: 600; }
.status .help { display: block; font-weight: 400; color: var(--_muted); }
.results:empty { display: none; }
.results { display: grid; gap: 1rem; margin-top: 1rem; }
.results[aria-busy="true"] { opacity: .55; }
.card { border: 1px solid var(--_border); border-radius: var(--_radius); padding: 1rem; background: var(--_bg); }
.card.primary { border: 2px solid var(--_accent); }
.card.auto { background: var(--_surface); }
a.button {
  display: inline-block; text-decoration: none; border-radius: calc(var(--_radius) * .6); border: 1px solid var(--_accent);
  padding: .6rem 1rem; background: var(--_accent); color: var(--_on-accent); font-weight: 600;
}
a.button:hover { filter: brightness(1.1); }
.badge {
  font-size: .8em; font-weight: 700; text-transform: uppercase; letter-spacing: .03em; border-radius: 999px;
  padding: .1rem .6rem; background: var(--_accent); color: var(--_on-accent);
}
.badge.alt { background: var(--_surface); color: var(--_muted); border: 1px solid var(--_border); }
.explain { color: var(--_muted); font-size: .95em; }
.fields { display: grid; grid-template-columns: minmax(6rem, max-content) minmax(0, 1fr); align-items: center; gap: .5rem .75rem; margin: .75rem 0 0; }
.field { display: contents; }
.field > dt { font-weight: 600; font-size: .95em; }
.value { min-width: 0; display: flex; gap: .5rem; align-items: center; margin: 0; }
.value .val {
  flex: 1 1 auto; min-width: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .95em;
  padding: .4rem .6rem; border: 1px solid var(--_border); border-radius: calc(var(--_radius) * .5);
  background: var(--_surface); color: var(--_text); overflow-wrap: anywhere; user-select: all; -webkit-user-select: all;
}
.value .text { padding: .4rem 0; }
button.copy { flex: 0 0 auto; padding: .35rem .7rem; font-size: .9em; background: var(--_bg); color: var(--_accent); }
button.copy.done { background: var(--_ok); border-color: var(--_ok); color: #fff; }
.warn { color: var(--_warn); background: var(--_warn-bg); border-radius: calc(var(--_radius) * .5); padding: .4rem .6rem; font-size: .92em; }
.hints { background: var(--_warn-bg); border-radius: var(--_radius); padding: .75rem 1rem; }
.hints h3 { color: var(--_warn); }
.hints ul { margin: .4rem 0 0; padding-left: 1.2rem; }
.hints li + li { margin-top: .25rem; }
details { border: 1px solid var(--_border); border-radius: var(--_radius); background: var(--_bg); }
details > summary { cursor: pointer; padding: .85rem 1rem; font-weight: 600; }
details[open] > summary { border-bottom: 1px solid var(--_border); }
details > .inner { padding: 0 1rem 1rem; }
.check { margin: .75rem 0 0; font-size: .92em; display: flex; gap: .4rem; align-items: baseline; }
.check::before { content: "●"; }
.check.pending { color: var(--_muted); }
.check.ok { color: var(--_ok); }
.check.fail { color: var(--_error); font-weight: 600; }
.others { margin: .5rem 0 0; padding-left: 1.2rem; font-size: .95em; }
.others code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.provider { color: var(--_muted); margin: 0; }
.visually-hidden {
  position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
@media (max-width: 30rem) {
  .box { padding: 1rem; }
  .fields { grid-template-columns: minmax(0, 1fr); gap: .2rem; }
  .field:not(:first-child) > dt { margin-top: .4rem; }
}
@media (prefers-reduced-motion: no-preference) {
  button.copy { transition: background-color .15s; }
}
`;
