// The API token lives in this tab's session storage. `#token=` in the address is read once and
// removed from it: a fragment is never sent to the server, and it should not stay in history.
const KEY = "cargohold.token";

function hashParams(): URLSearchParams {
  return new URLSearchParams(window.location.hash.replace(/^#/, ""));
}

function writeHash(params: URLSearchParams): void {
  const hash = params.toString();
  const url = window.location.pathname + window.location.search + (hash ? `#${hash}` : "");
  window.history.replaceState(null, "", url);
}

export function initialToken(): string {
  const params = hashParams();
  const fromHash = params.get("token");
  if (fromHash) {
    sessionStorage.setItem(KEY, fromHash.trim());
    params.delete("token");
    writeHash(params);
  }
  return sessionStorage.getItem(KEY) ?? "";
}

export function saveToken(token: string): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

/** The open chat is kept in the fragment (`#chat=<uuid>`), so a reload re-opens it. */
export function chatInHash(): string | null {
  return hashParams().get("chat");
}

export function setChatInHash(chatUuid: string | null): void {
  const params = hashParams();
  if (chatUuid) params.set("chat", chatUuid);
  else params.delete("chat");
  writeHash(params);
}

/** A UUID v4 (the server refuses other ids); `crypto.randomUUID` needs a secure context. */
export function uuid4(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function isUuid(value: string | undefined | null): value is string {
  return !!value && /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(value);
}
