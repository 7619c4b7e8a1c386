/**
 * Sending result tables to TOPCAT, Aladin and other desktop tools over SAMP.
 *
 * A web page cannot use SAMP's Standard Profile (it would have to read the
 * hub's lockfile in the user's home directory and run an XML-RPC server), so
 * it uses the Web Profile (SAMP 1.3 §5): the hub listens on the fixed URL
 * http://localhost:21012/ and answers XML-RPC calls named `samp.webhub.*`,
 * cross-origin, after the user has accepted the page in a dialog. The page
 * only sends: register, declare metadata, ask who takes tables, notify them
 * all with `table.load.votable`, unregister. Receiving messages (callbacks,
 * `samp.webhub.pullCallbacks`) is not needed and not implemented.
 *
 * Browsers guard requests from a page to programs on the user's computer.
 * Chrome (142 and later: "local network access") lets a page reach
 * localhost only if the page is on localhost itself, or is served over
 * https and the user allows it in a prompt; a page served over plain http
 * from another computer is refused outright. The hub needs to send nothing
 * for that beyond its CORS answers. Such refusals look like "no hub"
 * to a page; unreachable() tells them apart where it can.
 *
 * No SAMP library on purpose: the few calls fit in one small file. XML-RPC
 * is written and read here too, by a small parser for the subset XML-RPC
 * uses, rather than with DOMParser: the same code then runs in the browser
 * and in the unit tests (node has no DOMParser), and a DTD or an unknown
 * entity in a hub's answer is refused instead of being expanded.
 */

/** Where a Web Profile hub listens: fixed by SAMP 1.3 §5 (Web Profile hub discovery). */
export const WEB_PROFILE_URL = "http://localhost:21012/";

/** The MType of the message that asks an application to load a VOTable (SAMP MTypes vocabulary). */
export const LOAD_VOTABLE = "table.load.votable";

/**
 * SAMP's three data types (SAMP 1.3, "SAMP Data Types"): string, list and
 * map. SAMP has no numbers or booleans: they travel as strings ("1"/"0" for
 * booleans), so the encoder writes every scalar as an XML-RPC <string>.
 */
export type SampValue = string | SampValue[] | { [key: string]: SampValue };

/** Why a SAMP exchange failed; the UI may pick its help text from it. */
export type SampFailure =
  /** Nothing answered at the hub URL (no hub, or a request the browser blocked without saying so). */
  | "no-hub"
  /** The browser's local network access rules forbid this page to reach the hub (Chrome 142+). */
  | "blocked"
  /** The hub did not answer in time (register: its consent dialog was probably not answered). */
  | "timeout"
  /** The hub refused to register us (the user said no, or the hub's own policy). */
  | "refused"
  /** The hub runs, but no application on it accepts tables. */
  | "no-recipients"
  /** The hub answered with an XML-RPC fault or an HTTP error. */
  | "hub-error"
  /** The hub's answer was not XML-RPC, or not the SAMP shape expected. */
  | "protocol"
  /** What we were asked to send cannot be sent (e.g. a relative URL). */
  | "bad-request";

export class SampError extends Error {
  /** Why it failed (see SampFailure). */
  readonly failure: SampFailure;
  /** The XML-RPC faultCode when the hub answered with a fault ("" if it gave none); undefined otherwise. */
  readonly faultCode?: string;

  constructor(
    message: string,
    failure: SampFailure = "hub-error",
    options: { cause?: unknown; faultCode?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SampError";
    this.failure = failure;
    if (options.faultCode !== undefined) this.faultCode = options.faultCode;
  }
}

// ---------------------------------------------------------------------------
// XML-RPC encoding
// ---------------------------------------------------------------------------

/** Characters XML 1.0 cannot carry at all, even as character references (XML 1.0 §2.2). */
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Escapes text for XML character data. Besides &, < and > (and " for good
 * measure), every character outside printable ASCII becomes a numeric
 * character reference, so the request body is plain ASCII whatever charset a
 * hub assumes (SAMP 1.3 "SAMP Data Types" even restricts strings to ASCII;
 * hubs pass other characters through when they arrive as references). CR
 * is written as &#13; because an XML parser turns a literal CR into LF.
 */
function escapeXml(text: string): string {
  if (XML_FORBIDDEN.test(text)) {
    throw new SampError(
      `This text cannot be sent over SAMP: it contains a control character XML cannot carry: ${JSON.stringify(text)}`,
      "bad-request",
    );
  }
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "&") out += "&amp;";
    else if (ch === "<") out += "&lt;";
    else if (ch === ">") out += "&gt;";
    else if (ch === '"') out += "&quot;";
    else if (code === 0x09 || code === 0x0a || (code >= 0x20 && code < 0x7f)) out += ch;
    else out += `&#${code};`;
  }
  return out;
}

function encodeValue(value: SampValue): string {
  if (typeof value === "string") return `<value><string>${escapeXml(value)}</string></value>`;
  if (Array.isArray(value)) {
    return `<value><array><data>${value.map(encodeValue).join("")}</data></array></value>`;
  }
  const members = Object.entries(value).map(
    ([name, v]) => `<member><name>${escapeXml(name)}</name>${encodeValue(v)}</member>`,
  );
  return `<value><struct>${members.join("")}</struct></value>`;
}

/** An XML-RPC methodCall document calling `method` with `params`, every scalar a <string>. */
export function encodeCall(method: string, params: SampValue[]): string {
  const encoded = params.map((p) => `<param>${encodeValue(p)}</param>`).join("");
  return (
    `<?xml version="1.0"?>\n` +
    `<methodCall><methodName>${escapeXml(method)}</methodName><params>${encoded}</params></methodCall>\n`
  );
}

// ---------------------------------------------------------------------------
// XML-RPC decoding: a small parser for the XML that XML-RPC answers are made of
// ---------------------------------------------------------------------------

interface XmlElement {
  name: string;
  children: XmlElement[];
  /** The element's own character data (not its children's), CDATA included, entities decoded. */
  text: string;
}

const START_TAG = /<([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
const END_TAG = /<\/([A-Za-z_][\w.:-]*)\s*>/y;
const ENTITY = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(lt|gt|amp|quot|apos));|&/g;
const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function malformed(why: string): SampError {
  return new SampError(`The SAMP hub's answer is not well-formed XML-RPC: ${why}`, "protocol");
}

function decodeText(raw: string): string {
  // XML 1.0 §2.11: parsers report every CR LF and lone CR as LF.
  const normalized = raw.replace(/\r\n?/g, "\n");
  return normalized.replace(ENTITY, (whole, hex?: string, dec?: string, named?: string) => {
    if (named) return NAMED_ENTITIES[named];
    if (hex === undefined && dec === undefined) throw malformed(`a bare "&" or an unknown entity near ${JSON.stringify(normalized.slice(0, 40))}`);
    const code = hex !== undefined ? parseInt(hex, 16) : parseInt(dec!, 10);
    if (code > 0x10ffff) throw malformed(`the character reference ${whole} is out of range`);
    const ch = String.fromCodePoint(code);
    if (XML_FORBIDDEN.test(ch)) throw malformed(`the character reference ${whole} names a character XML forbids`);
    return ch;
  });
}

/**
 * Parses an XML document into elements. Handles what an XML-RPC answer may
 * hold (declaration, comments, processing instructions, CDATA, character and
 * the five predefined entity references, attributes, which it ignores) and
 * refuses DOCTYPE declarations, unknown entities and mismatched tags.
 */
function parseXml(xml: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  const addText = (text: string) => {
    const top = stack[stack.length - 1];
    if (top) top.text += text;
    else if (text.trim() !== "") throw malformed("text outside the root element");
  };
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    if (lt === -1) {
      addText(decodeText(xml.slice(i)));
      break;
    }
    if (lt > i) addText(decodeText(xml.slice(i, lt)));
    i = lt;
    if (xml.startsWith("<?", i)) {
      const end = xml.indexOf("?>", i);
      if (end === -1) throw malformed("an unterminated processing instruction");
      i = end + 2;
    } else if (xml.startsWith("<!--", i)) {
      const end = xml.indexOf("-->", i);
      if (end === -1) throw malformed("an unterminated comment");
      i = end + 3;
    } else if (xml.startsWith("<![CDATA[", i)) {
      const end = xml.indexOf("]]>", i);
      if (end === -1) throw malformed("an unterminated CDATA section");
      if (stack.length === 0) throw malformed("CDATA outside the root element");
      addText(xml.slice(i + 9, end).replace(/\r\n?/g, "\n"));
      i = end + 3;
    } else if (xml.startsWith("<!", i)) {
      // A DOCTYPE could define entities; XML-RPC never needs one.
      throw malformed("a DOCTYPE or other declaration, which XML-RPC does not use");
    } else if (xml.startsWith("</", i)) {
      END_TAG.lastIndex = i;
      const m = END_TAG.exec(xml);
      if (!m) throw malformed(`a broken end tag near ${JSON.stringify(xml.slice(i, i + 40))}`);
      const open = stack.pop();
      if (!open || open.name !== m[1]) {
        throw malformed(`</${m[1]}> closes ${open ? `<${open.name}>` : "nothing"}`);
      }
      i = END_TAG.lastIndex;
    } else {
      START_TAG.lastIndex = i;
      const m = START_TAG.exec(xml);
      if (!m) throw malformed(`a broken tag near ${JSON.stringify(xml.slice(i, i + 40))}`);
      const element: XmlElement = { name: m[1], children: [], text: "" };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root) throw malformed("more than one root element");
      else root = element;
      if (m[3] !== "/") stack.push(element);
      i = START_TAG.lastIndex;
    }
  }
  if (stack.length > 0) throw malformed(`<${stack[stack.length - 1].name}> is never closed`);
  if (!root) throw malformed("no element at all");
  return root;
}

function onlyChild(element: XmlElement, name: string): XmlElement {
  const found = element.children.filter((c) => c.name === name);
  if (found.length !== 1) throw malformed(`<${element.name}> should hold one <${name}>, not ${found.length}`);
  return found[0];
}

/** An XML-RPC <value> as a SampValue: scalars of any XML-RPC type become strings. */
function decodeValue(value: XmlElement): SampValue {
  // XML-RPC spec: a <value> without a type element is a string, whitespace kept.
  if (value.children.length === 0) return value.text;
  if (value.children.length > 1) throw malformed("a <value> with more than one element in it");
  const typed = value.children[0];
  switch (typed.name) {
    case "string":
      return typed.text;
    case "int":
    case "i4":
    case "i8":
    case "double":
    case "boolean": // "0" or "1", which is how SAMP writes booleans anyway
    case "dateTime.iso8601":
      return typed.text.trim();
    case "nil": // an extension some servers use for None; SAMP has no null
      return "";
    case "array":
      return onlyChild(typed, "data").children.filter((c) => c.name === "value").map(decodeValue);
    case "struct": {
      const map: { [key: string]: SampValue } = {};
      for (const member of typed.children.filter((c) => c.name === "member")) {
        map[onlyChild(member, "name").text] = decodeValue(onlyChild(member, "value"));
      }
      return map;
    }
    default:
      throw malformed(`the XML-RPC type <${typed.name}>, which SAMP does not use`);
  }
}

/**
 * The value an XML-RPC methodResponse carries. A <fault> becomes a thrown
 * SampError whose message is the hub's faultString (hubs put the reason
 * there, e.g. "Request of registration rejected by the user.").
 */
export function decodeResponse(xml: string): SampValue {
  const root = parseXml(xml);
  if (root.name !== "methodResponse") throw malformed(`the root element is <${root.name}>, not <methodResponse>`);
  const fault = root.children.find((c) => c.name === "fault");
  if (fault) {
    const detail = decodeValue(onlyChild(fault, "value"));
    const faultString =
      typeof detail === "object" && !Array.isArray(detail) && typeof detail.faultString === "string"
        ? detail.faultString
        : "the hub reported a fault without a reason";
    // Always set on faults (possibly ""), so callers can tell a fault from other hub errors.
    const faultCode =
      typeof detail === "object" && !Array.isArray(detail) && typeof detail.faultCode === "string"
        ? detail.faultCode
        : "";
    throw new SampError(faultString, "hub-error", { faultCode });
  }
  const params = onlyChild(root, "params");
  return decodeValue(onlyChild(onlyChild(params, "param"), "value"));
}

// ---------------------------------------------------------------------------
// Talking to the hub
// ---------------------------------------------------------------------------

/** Registration waits for the user to answer the hub's consent dialog. */
const REGISTER_TIMEOUT_MS = 60_000;
/** Every other call is answered by the hub itself at once. */
const CALL_TIMEOUT_MS = 10_000;

export interface SampTimeouts {
  /** How long samp.webhub.register may take (the user answers a dialog): 60 s by default. */
  registerMs?: number;
  /** How long any other call may take: 10 s by default. */
  callMs?: number;
}

/**
 * The state of the browser's permission for this page to reach programs on
 * this computer ("local network access", Chrome 142 and later), or undefined
 * where the browser has no such permission (it then throws for the name).
 */
async function localNetworkPermission(): Promise<PermissionState | undefined> {
  try {
    if (typeof navigator === "undefined" || !navigator.permissions) return undefined;
    const status = await navigator.permissions.query({ name: "local-network-access" as PermissionName });
    return status.state;
  } catch {
    return undefined;
  }
}

/**
 * The error for a request that failed without an answer. The browser says
 * no more than "Failed to fetch" whether nothing listens on the port, CORS
 * failed, or its local network access rules blocked the request, so the
 * permission's state is asked to tell the last case apart.
 */
async function unreachable(hubUrl: string, cause: unknown): Promise<SampError> {
  const permission = await localNetworkPermission();
  if (permission === "denied") {
    const insecure = typeof isSecureContext === "boolean" && !isSecureContext;
    return new SampError(
      `Your browser does not let this page reach programs on your computer, so it cannot reach a SAMP hub ` +
        `(TOPCAT, Aladin) at ${hubUrl}. ` +
        (insecure
          ? `Browsers such as Chrome allow it only to pages served over https: open this service with an https:// address and try again.`
          : `Allow "local network access" (or "apps on this device") for this site in the browser's site settings and try again.`),
      "blocked",
      { cause },
    );
  }
  return new SampError(
    `No SAMP hub answered at ${hubUrl}: start TOPCAT or Aladin (they run a hub) and try again. ` +
      `If one is running, check that its Web Profile is switched on, and allow this page to reach apps on ` +
      `this device or local network if your browser asks.`,
    "no-hub",
    { cause },
  );
}

/**
 * One XML-RPC call over fetch. The hub is on another origin than the page:
 * a POST with Content-Type text/xml is not a "simple" request, so the browser
 * sends a CORS preflight (OPTIONS) first, which Web Profile hubs answer
 * (SAMP 1.3 §5, cross-origin access). The AbortController turns a hub that
 * never answers into a clear error instead of a button that spins forever.
 */
async function xmlRpc(
  hubUrl: string,
  method: string,
  params: SampValue[],
  timeoutMs: number,
  onTimeout: () => SampError,
): Promise<SampValue> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    let response: Response;
    try {
      response = await fetch(hubUrl, {
        method: "POST",
        headers: { "Content-Type": "text/xml" },
        body: encodeCall(method, params),
        signal: controller.signal,
        cache: "no-store",
        credentials: "omit",
      });
    } catch (err) {
      // Connection refused, a CORS or local-network refusal by the browser:
      // all look the same from here (a TypeError without details).
      throw controller.signal.aborted ? onTimeout() : await unreachable(hubUrl, err);
    }
    let body: string;
    try {
      body = await response.text();
    } catch (err) {
      if (controller.signal.aborted) throw onTimeout();
      throw new SampError(`The SAMP hub at ${hubUrl} broke off its answer to ${method}`, "hub-error", { cause: err });
    }
    if (!response.ok) {
      throw new SampError(
        `The SAMP hub at ${hubUrl} answered ${method} with HTTP ${response.status} ${response.statusText}`.trim(),
        "hub-error",
      );
    }
    return decodeResponse(body);
  } finally {
    clearTimeout(timer);
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function asMap(value: SampValue, what: string): { [key: string]: SampValue } {
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new SampError(`The SAMP hub answered ${what} with something other than a map`, "protocol");
  }
  return value;
}

function asStringList(value: SampValue, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === "string")) {
    throw new SampError(`The SAMP hub answered ${what} with something other than a list of client ids`, "protocol");
  }
  return value;
}

/** A registration with a Web Profile hub. */
export class SampConnection {
  private registered = true;

  private constructor(
    /** The hub's URL. */
    readonly hubUrl: string,
    /** Our private key: the first argument of every samp.webhub call (SAMP 1.3 §5). */
    private readonly privateKey: string,
    /** Our public client id, as other clients see it. */
    readonly selfId: string,
    /** The hub's own client id. */
    readonly hubId: string,
    private readonly callTimeoutMs: number,
  ) {}

  /**
   * Registers with the hub and declares our metadata. The hub asks the user
   * whether to accept a web application called `appName` first, so this can
   * take as long as the user takes (timeouts.registerMs, 60 s by default).
   * Rejects with failure "no-hub", "timeout" or "refused" in the three ways
   * this commonly goes wrong.
   */
  static async register(
    appName: string,
    options: { hubUrl?: string; metadata?: Record<string, string>; timeouts?: SampTimeouts } = {},
  ): Promise<SampConnection> {
    const hubUrl = options.hubUrl ?? WEB_PROFILE_URL;
    const registerMs = options.timeouts?.registerMs ?? REGISTER_TIMEOUT_MS;
    const callMs = options.timeouts?.callMs ?? CALL_TIMEOUT_MS;
    let answer: SampValue;
    try {
      // SAMP 1.3 §5: register takes an identity map whose samp.name the hub
      // shows in its consent dialog.
      answer = await xmlRpc(hubUrl, "samp.webhub.register", [{ "samp.name": appName }], registerMs, () =>
        new SampError(
          `The SAMP hub at ${hubUrl} did not answer within ${seconds(registerMs)}. It is probably waiting ` +
            `for you to accept "${appName}" in a dialog window (TOPCAT and Aladin show one, sometimes behind ` +
            `other windows): accept it and try again.`,
          "timeout",
        ),
      );
    } catch (err) {
      if (err instanceof SampError && err.faultCode !== undefined) {
        // Any fault here means we are not registered; hubs fault when the
        // user clicks "No" (astropy: "Request of registration rejected by
        // the user.") or when their policy refuses web clients.
        throw new SampError(
          `The SAMP hub at ${hubUrl} refused to let "${appName}" connect (it said: ${err.message}). ` +
            `If a dialog asked whether to accept it, answer yes and try again.`,
          "refused",
          { cause: err, faultCode: err.faultCode },
        );
      }
      throw err;
    }
    const map = asMap(answer, "samp.webhub.register");
    const privateKey = map["samp.private-key"];
    if (typeof privateKey !== "string" || privateKey === "") {
      throw new SampError("The SAMP hub's registration answer has no samp.private-key", "protocol");
    }
    const text = (key: string) => (typeof map[key] === "string" ? (map[key] as string) : "");
    const connection = new SampConnection(hubUrl, privateKey, text("samp.self-id"), text("samp.hub-id"), callMs);
    try {
      // Application metadata (SAMP 1.3 "Application Metadata"): what the
      // receiving tools show as the table's sender.
      await connection.call("samp.webhub.declareMetadata", [{ "samp.name": appName, ...options.metadata }]);
    } catch (err) {
      await connection.unregister().catch(() => undefined);
      throw err;
    }
    return connection;
  }

  private call(method: string, params: SampValue[]): Promise<SampValue> {
    if (!this.registered) {
      return Promise.reject(new SampError(`${method}: this SAMP connection is already unregistered`, "bad-request"));
    }
    return xmlRpc(this.hubUrl, method, [this.privateKey, ...params], this.callTimeoutMs, () =>
      new SampError(
        `The SAMP hub at ${this.hubUrl} did not answer ${method} within ${seconds(this.callTimeoutMs)}; ` +
          `it may be busy or stuck: try again, or restart TOPCAT or Aladin.`,
        "timeout",
      ),
    );
  }

  /** The ids of the other clients subscribed to `mtype` (samp.webhub.getSubscribedClients). */
  async subscribedClients(mtype: string): Promise<string[]> {
    return Object.keys(asMap(await this.call("samp.webhub.getSubscribedClients", [mtype]), "getSubscribedClients"));
  }

  /**
   * Sends a notification (no reply expected) to every client subscribed to
   * `mtype`; resolves with the ids the hub will deliver it to. Delivery is
   * asynchronous: see sendTable about unregistering too early.
   */
  async notifyAll(mtype: string, params: Record<string, string>): Promise<string[]> {
    const message = { "samp.mtype": mtype, "samp.params": params };
    return asStringList(await this.call("samp.webhub.notifyAll", [message]), "notifyAll");
  }

  /** Unregisters; later calls fail. Unregistering twice does nothing. */
  async unregister(): Promise<void> {
    if (!this.registered) return;
    try {
      await this.call("samp.webhub.unregister", []);
    } finally {
      this.registered = false;
    }
  }
}

/**
 * How long sendTable stays registered after notifyAll. Hubs deliver a
 * notification on another thread after notifyAll has returned, and at least
 * astropy's hub drops it silently if the sender has unregistered by then
 * (it checks the sender is still registered before delivering).
 */
const DELIVERY_GRACE_MS = 1000;

export interface SendTableOptions {
  hubUrl?: string;
  /** The name the hub's consent dialog and the receiving tools show: "Corvus" by default. */
  appName?: string;
  /** More application metadata (samp.description.text, samp.icon.url, ...). */
  metadata?: Record<string, string>;
  timeouts?: SampTimeouts;
  /** How long to stay registered after notifying (see DELIVERY_GRACE_MS); 1000 ms by default. */
  deliveryGraceMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Characters that cannot travel in XML, replaced in table names that come from users. */
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Sends a VOTable at `url` (absolute URL the hub can fetch) to every client
 * subscribed to table.load.votable: registers, notifies (params url,
 * table-id, name), unregisters. Resolves with the recipients; rejects with a
 * SampError whose message tells a beginner what to do when no hub runs, when
 * the user refused the hub's dialog, or when no client takes tables.
 *
 * The receiving application downloads `url` itself, so it must be reachable
 * from the user's machine without the page's cookies.
 */
export async function sendTable(url: string, name: string, options: SendTableOptions = {}): Promise<string[]> {
  let absolute: URL;
  try {
    absolute = new URL(url);
  } catch (err) {
    throw new SampError(`Cannot send "${url}" over SAMP: it is not an absolute URL`, "bad-request", { cause: err });
  }
  if (absolute.protocol !== "http:" && absolute.protocol !== "https:") {
    throw new SampError(`Cannot send "${url}" over SAMP: only http and https URLs can be fetched by other tools`, "bad-request");
  }
  const appName = options.appName ?? "Corvus";
  const connection = await SampConnection.register(appName, {
    hubUrl: options.hubUrl,
    timeouts: options.timeouts,
    metadata: {
      "samp.description.text": "Corvus, a TAP service for astronomical tables: sends query results to desktop tools",
      ...options.metadata,
    },
  });
  const noTakers = () =>
    new SampError(
      `The SAMP hub at ${connection.hubUrl} is running, but no application connected to it accepts tables: ` +
        `start TOPCAT or Aladin (or connect it to the hub) and try again.`,
      "no-recipients",
    );
  try {
    // Asking first gives the clearer error: notifyAll to nobody is not a
    // fault at every hub (astropy only warns and returns an empty list).
    if ((await connection.subscribedClients(LOAD_VOTABLE)).length === 0) throw noTakers();
    // table.load.votable (SAMP MTypes): url is required; table-id lets later
    // messages (row highlights, selections) refer to the table; name is what
    // the tool calls it.
    const recipients = await connection.notifyAll(LOAD_VOTABLE, {
      url: absolute.href,
      "table-id": absolute.href,
      name: name.replace(CONTROL_CHARS, " "),
    });
    if (recipients.length === 0) throw noTakers();
    await sleep(options.deliveryGraceMs ?? DELIVERY_GRACE_MS);
    return recipients;
  } finally {
    // Best effort: the table has been sent (or the error is more useful).
    await connection.unregister().catch(() => undefined);
  }
}
