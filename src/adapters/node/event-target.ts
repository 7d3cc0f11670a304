// ws's emulation of the browser's event API on its EventEmitter WebSocket: addEventListener /
// removeEventListener and the on{open,message,close,error} attributes, with Event, MessageEvent,
// CloseEvent and ErrorEvent objects shaped as ws makes them (text data as a string, binary as
// the message's Buffer / ArrayBuffer / fragments, per binaryType).
import type { EventEmitter } from "node:events";

const kListener = Symbol("wasmsocket.listener");
const kForAttribute = Symbol("wasmsocket.forAttribute");

export class Event {
  /** @internal */ _target: unknown = null;
  readonly #type: string;
  constructor(type: string) {
    this.#type = type;
  }
  get type(): string {
    return this.#type;
  }
  get target(): unknown {
    return this._target;
  }
}

export class MessageEvent extends Event {
  readonly #data: unknown;
  constructor(type: string, options: { data?: unknown } = {}) {
    super(type);
    this.#data = options.data === undefined ? null : options.data;
  }
  get data(): unknown {
    return this.#data;
  }
}

export class CloseEvent extends Event {
  readonly #code: number;
  readonly #reason: string;
  readonly #wasClean: boolean;
  constructor(type: string, options: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this.#code = options.code ?? 0;
    this.#reason = options.reason ?? "";
    this.#wasClean = options.wasClean ?? false;
  }
  get code(): number {
    return this.#code;
  }
  get reason(): string {
    return this.#reason;
  }
  get wasClean(): boolean {
    return this.#wasClean;
  }
}

export class ErrorEvent extends Event {
  readonly #error: unknown;
  readonly #message: string;
  constructor(type: string, options: { error?: unknown; message?: string } = {}) {
    super(type);
    this.#error = options.error === undefined ? null : options.error;
    this.#message = options.message ?? "";
  }
  get error(): unknown {
    return this.#error;
  }
  get message(): string {
    return this.#message;
  }
}

for (const [cls, names] of [[Event, ["type", "target"]], [MessageEvent, ["data"]], [CloseEvent, ["code", "reason", "wasClean"]], [ErrorEvent, ["error", "message"]]] as const) {
  for (const name of names) Object.defineProperty(cls.prototype, name, { enumerable: true });
}

export type EventListenerLike = ((event: any) => void) | { handleEvent(event: any): void };
type Wrapper = ((...args: any[]) => void) & { [kListener]?: EventListenerLike; [kForAttribute]?: boolean };

function call(listener: EventListenerLike, target: unknown, event: Event): void {
  if (typeof listener === "object" && typeof listener.handleEvent === "function") listener.handleEvent.call(listener, event);
  else (listener as (e: Event) => void).call(target, event);
}

function makeWrapper(type: string, handler: EventListenerLike): Wrapper | undefined {
  switch (type) {
    case "message":
      return function (this: unknown, data: Buffer | string, isBinary: boolean) {
        const e = new MessageEvent("message", { data: isBinary ? data : data.toString() });
        e._target = this;
        call(handler, this, e);
      };
    case "close":
      return function (this: unknown, code: number, reason: Buffer | string, wasClean?: boolean) {
        const e = new CloseEvent("close", { code, reason: reason.toString(), wasClean: wasClean ?? false });
        e._target = this;
        call(handler, this, e);
      };
    case "error":
      return function (this: unknown, error: Error) {
        const e = new ErrorEvent("error", { error, message: error?.message });
        e._target = this;
        call(handler, this, e);
      };
    case "open":
      return function (this: unknown) {
        const e = new Event("open");
        e._target = this;
        call(handler, this, e);
      };
  }
  return undefined;
}

export function addEventListener(this: EventEmitter, type: string, handler: EventListenerLike, options: { once?: boolean; [kForAttribute]?: boolean } = {}): void {
  const forAttribute = !!options[kForAttribute];
  if (!forAttribute) {
    for (const l of this.listeners(type) as Wrapper[]) if (l[kListener] === handler && !l[kForAttribute]) return;
  }
  const wrapper = makeWrapper(type, handler);
  if (!wrapper) return;
  wrapper[kListener] = handler;
  wrapper[kForAttribute] = forAttribute;
  if (options.once) this.once(type, wrapper);
  else this.on(type, wrapper);
}

export function removeEventListener(this: EventEmitter, type: string, handler: EventListenerLike): void {
  for (const l of this.listeners(type) as Wrapper[]) {
    if (l[kListener] === handler && !l[kForAttribute]) {
      this.removeListener(type, l);
      return;
    }
  }
}

/** Adds the on{open,error,close,message} attributes to a class whose prototype has addEventListener. */
export function defineEventAttributes(proto: object): void {
  for (const type of ["open", "error", "close", "message"]) {
    Object.defineProperty(proto, `on${type}`, {
      enumerable: true,
      configurable: true,
      get(this: EventEmitter) {
        for (const l of this.listeners(type) as Wrapper[]) if (l[kForAttribute]) return l[kListener];
        return null;
      },
      set(this: EventEmitter, handler: unknown) {
        for (const l of this.listeners(type) as Wrapper[]) {
          if (l[kForAttribute]) {
            this.removeListener(type, l);
            break;
          }
        }
        if (typeof handler !== "function") return;
        addEventListener.call(this, type, handler as EventListenerLike, { [kForAttribute]: true });
      },
    });
  }
}
