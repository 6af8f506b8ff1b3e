import type { Finding } from "../../checks/types.ts";

const LABEL = { error: "Error", warning: "Warning", info: "Note" } as const;
const ICON = { error: "✖", warning: "▲", info: "ℹ" } as const;

export function Findings(props: {
  findings: Finding[];
  notes: string[];
  idPrefix: string;
  hostName: string;
}) {
  const titleId = `${props.idPrefix}-findings-title`;
  const { findings, notes } = props;
  return (
    <section class="findings" aria-labelledby={titleId}>
      <h3 id={titleId}>Findings ({findings.length})</h3>
      {findings.length === 0 ? (
        <p class="ok-text">No problems found on {props.hostName}.</p>
      ) : (
        <ul class="finding-list">
          {findings.map((f, i) => (
            <li key={`${f.code}-${f.gpu ?? ""}-${i}`} class={`finding sev-${f.severity}`} data-code={f.code}>
              <p class="finding-head">
                <span class={`sev sev-${f.severity}`}>
                  <span aria-hidden="true">{ICON[f.severity]} </span>
                  {LABEL[f.severity]}
                </span>{" "}
                <span class="finding-title">{f.title}</span> <code class="code">{f.code}</code>
                {f.gpu && <span class="finding-gpu"> · GPU {f.gpu}</span>}
              </p>
              {(f.evidence.length > 0 || f.fix.length > 0) && (
                <details>
                  <summary>Evidence and fix</summary>
                  {f.evidence.length > 0 && (
                    <>
                      <h4>Evidence</h4>
                      <pre>{f.evidence.join("\n")}</pre>
                    </>
                  )}
                  {f.fix.length > 0 && (
                    <>
                      <h4>Fix</h4>
                      <ol class="fix">
                        {f.fix.map((step, j) => (
                          <li key={j}>
                            <code>{step}</code>
                          </li>
                        ))}
                      </ol>
                    </>
                  )}
                </details>
              )}
            </li>
          ))}
        </ul>
      )}
      {notes.length > 0 && (
        <details class="notes">
          <summary>Not checked ({notes.length}): evidence not captured or unreadable</summary>
          <ul>
            {notes.map((n, i) => (
              <li key={i}>{n}</li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
