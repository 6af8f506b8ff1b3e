import { useCallback, useEffect, useState } from "preact/hooks";
import type { DashboardPayload } from "../api.ts";
import { HostCard } from "./host-card.tsx";

type Load =
  | { state: "loading"; payload: DashboardPayload | null }
  | { state: "ready"; payload: DashboardPayload }
  | { state: "error"; message: string; payload: DashboardPayload | null };

async function fetchPayload(method: "GET" | "POST"): Promise<DashboardPayload> {
  const res = await fetch(method === "GET" ? "/api/hosts" : "/api/refresh", {
    method,
    headers: { Accept: "application/json" },
  });
  if (!res.ok) throw new Error(`the dashboard server answered ${res.status} ${res.statusText}`);
  return (await res.json()) as DashboardPayload;
}

function timeOf(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString();
}

export function App() {
  const [load, setLoad] = useState<Load>({ state: "loading", payload: null });

  const run = useCallback((method: "GET" | "POST") => {
    setLoad((l) => ({ state: "loading", payload: l.payload }));
    fetchPayload(method).then(
      (payload) => setLoad({ state: "ready", payload }),
      (e: unknown) =>
        setLoad((l) => ({
          state: "error",
          message: e instanceof Error ? e.message : String(e),
          payload: l.payload,
        })),
    );
  }, []);

  useEffect(() => run("GET"), [run]);

  const payload = load.payload;
  const status =
    load.state === "loading"
      ? payload
        ? "Reading the hosts again…"
        : "Reading the hosts…"
      : load.state === "error"
        ? `Could not load: ${load.message}`
        : `Updated ${timeOf(load.payload.generatedAt)}`;

  return (
    <>
      <header class="top">
        <div>
          <h1>vgpuctl dashboard</h1>
          <p class="sub">Each GPU's vGPU split at a glance. Read-only: nothing is changed on the hosts.</p>
        </div>
        <div class="actions">
          <button
            type="button"
            onClick={() => run("POST")}
            disabled={load.state === "loading"}
            aria-describedby="load-status"
          >
            Refresh
          </button>
          <p id="load-status" role="status" aria-live="polite" class={`status-text ${load.state}`}>
            {status}
          </p>
        </div>
      </header>
      <main aria-busy={load.state === "loading"}>
        {payload && payload.hosts.length === 0 && <p class="empty">No hosts given (use --host).</p>}
        {payload?.hosts.map((h, i) => (
          <HostCard key={h.spec} host={h} index={i} />
        ))}
      </main>
    </>
  );
}
