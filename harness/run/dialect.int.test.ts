import { describe, expect, it } from "vitest";
import { localProfile } from "../profile/testing/profile-file.ts";
import { runQuietly } from "./testing/run-quietly.ts";

// Dialect knobs, both sides: the reference switch set to a variant (replies without the TPDU, or without the
// header) accepts terminals of that variant, sign-ins and MAC'd purchases approved; terminals of the other
// variant get `protocol` outcomes whose detail names the framing difference, not a field that only looks broken.

async function run(
  name: string,
  switchSettings: string,
  terminalSettings: string,
  { durationS = 3, perTerminal = 2, more = "" } = {},
) {
  const file = localProfile(name, {
    durationS,
    terminals: 10,
    perTerminal,
    thinkS: 0.5,
    switch: switchSettings,
    terminal: `${terminalSettings} responseTimeoutMs: 2000`,
    more,
  });
  const { outcome, run: facts, log } = await runQuietly(file);
  expect(outcome.status).toBe("completed");
  return { outcomes: facts.outcomes!, log };
}

describe("dialect knobs", () => {
  for (const [knob, described] of [
    ["tpdu", "header only \\(no TPDU\\)"],
    ["header", "TPDU only \\(no header\\)"],
  ] as const) {
    it(`${knob}: the switch without it accepts terminals without it; terminals with it report protocol, naming the framing`, async () => {
      const same = await run(`no-${knob}`, `${knob}: false`, `${knob}: false,`);
      expect(same.outcomes.byOutcome.signin.approved).toBe(10);
      expect(same.outcomes.byOutcome.purchase.approved).toBe(same.outcomes.total.purchase);
      expect(same.outcomes.total.purchase).toBeGreaterThanOrEqual(10);

      const other = await run(`mixed-${knob}`, `${knob}: false`, "");
      // Every sign-in attempt (retries included) fails the same way; none is approved, no purchase goes out.
      expect(other.outcomes.byOutcome.signin.protocol).toBe(other.outcomes.total.signin);
      expect(other.outcomes.total.signin).toBeGreaterThanOrEqual(10);
      expect(other.outcomes.byOutcome.purchase.approved).toBe(0);
      expect(other.log).toMatch(
        new RegExp(
          `reply framing: ${described}, expected TPDU and header \\(terminal\\.tpdu / terminal\\.header\\)`,
        ),
      );
    });
  }

  const values = [
    [
      "the TPDU's address (NII)",
      'tpduAddress: "0005"',
      'tpduDestination: "0005",',
      /reply TPDU source 0005, expected 0003 \(terminal\.tpduDestination\)/,
    ],
    [
      "the header's version",
      'headerVersion: "32"',
      'headerVersion: "32",',
      /reply header version 32, expected 31 \(terminal\.headerVersion\)/,
    ],
  ] as const;
  for (const [knob, switchSetting, terminalSetting, named] of values) {
    it(`${knob}: a switch of another value serves terminals of that value; others report protocol, naming it`, async () => {
      const same = await run("same-value", switchSetting, terminalSetting);
      expect(same.outcomes.byOutcome.signin.approved).toBe(10);
      expect(same.outcomes.byOutcome.purchase.approved).toBe(same.outcomes.total.purchase);
      const other = await run("other-value", switchSetting, "");
      expect(other.outcomes.byOutcome.signin.protocol).toBe(other.outcomes.total.signin);
      expect(other.outcomes.byOutcome.signin.approved).toBe(0);
      expect(other.log).toMatch(named);
    });
  }

  // Knobs of the purchase reply: the switch of a variant approves the purchases of terminals of that variant;
  // terminals of the other sign in, then report every purchase as protocol, naming the field.
  const replies = [
    {
      knob: "F60 in purchase replies (left out)",
      same: ["purchaseReplyField60: false", "replyField60: false,"],
      other: ["purchaseReplyField60: false", ""],
      named: /0210.*F60|F60.*0210|field 60/,
    },
    {
      knob: "F60's parts (60.1-60.5)",
      same: ['field60Parts: "5"', "field60Parts: 5,"],
      other: ['field60Parts: "5"', ""],
      named:
        /reply F60 carries 60\.1-60\.5 \(22\d{6}00000\), expected 60\.1-60\.3 as sent \(terminal\.field60Parts\)/,
    },
    {
      knob: "F63 in approved purchase replies (63.1)",
      same: ['purchaseReplyField63: "CUP"', "replyField63: true,"],
      other: ["", "replyField63: true,"],
      named:
        /reply F63 \(63\.1 card organisation\) is missing in an approved 0210, expected 3 capital letters \(terminal\.replyField63\)/,
    },
  ] as const;
  for (const {
    knob,
    same: [sw, terminals],
    other: [otherSw, otherTerminals],
    named,
  } of replies) {
    it(`${knob}: the switch's variant serves terminals of it; the other's purchases are protocol, naming the field`, async () => {
      const same = await run("reply-same", sw, terminals);
      expect(same.outcomes.byOutcome.purchase.approved).toBe(same.outcomes.total.purchase);
      expect(same.outcomes.total.purchase).toBeGreaterThanOrEqual(10);
      const other = await run("reply-other", otherSw, otherTerminals);
      expect(other.outcomes.byOutcome.signin.approved).toBe(10);
      expect(other.outcomes.byOutcome.purchase.protocol).toBe(other.outcomes.total.purchase);
      expect(other.outcomes.total.purchase).toBeGreaterThanOrEqual(10);
      expect(other.log).toMatch(named);
    });
  }

  it("the batch across sign-ins: a switch that assigns it serves terminals that adopt it; others report protocol naming 60.2", async () => {
    const same = await run("batch-adopted", 'assignBatch: "000777"', "");
    expect(same.outcomes.byOutcome.purchase.approved).toBe(same.outcomes.total.purchase);
    expect(same.outcomes.total.purchase).toBeGreaterThanOrEqual(10);
    const other = await run("batch-kept", 'assignBatch: "000777"', "adoptBatch: false,");
    expect(other.outcomes.byOutcome.signin.approved).toBeGreaterThanOrEqual(10);
    expect(other.outcomes.byOutcome.purchase.protocol).toBe(other.outcomes.total.purchase);
    expect(other.log).toMatch(/reply 60\.2 \(batch\) is 000777, expected \d{6} \(terminal\.adoptBatch\)/);
  });

  it("the STAN across sign-ins: terminals that restart it need a switch that opens a batch per sign-in; otherwise protocol naming F11", async () => {
    // The switch restarts at 3 s: every terminal signs in a second time and numbers its purchases from 000001
    // again. A switch (and issuer) that keep the batch see those STANs twice.
    const restart = {
      durationS: 8,
      perTerminal: 12,
      more: 'chaos: [{ name: "restart", at: 3, for: 1, fault: { kind: "switch-restart", downMs: 500 } }],',
    };
    const terminals = 'stanAtSignIn: "restart",';
    const same = await run("stan-new-batch", "batchPerSignIn: true", terminals, restart);
    expect(same.outcomes.byOutcome.signin.approved).toBeGreaterThanOrEqual(20);
    expect(same.outcomes.byOutcome.purchase.protocol ?? 0).toBe(0);
    expect(same.outcomes.byOutcome.purchase.approved).toBeGreaterThanOrEqual(40);
    const other = await run("stan-same-batch", "", terminals, restart);
    expect(other.outcomes.byOutcome.signin.approved).toBeGreaterThanOrEqual(20);
    expect(other.outcomes.byOutcome.purchase.protocol).toBeGreaterThanOrEqual(10);
    expect(other.log).toMatch(
      /reply F39 94 \(duplicate\) to F11 0000\d\d, new by this terminal's numbering: the switch keeps STANs of batch \d{6} across sign-ins \(terminal\.stanAtSignIn restart\)/,
    );
  });

  it("the MAC algorithm: a switch on X9.19 serves terminals on X9.19; terminals on the UnionPay ECB MAC get A0 naming F64", async () => {
    const same = await run("mac-x919", 'macAlgorithm: "x9.19"', 'macAlgorithm: "x9.19",');
    expect(same.outcomes.byOutcome.purchase.approved).toBe(same.outcomes.total.purchase);
    expect(same.outcomes.total.purchase).toBeGreaterThanOrEqual(10);
    const other = await run("mac-ecb", 'macAlgorithm: "x9.19"', "");
    expect(other.outcomes.byOutcome.signin.approved).toBeGreaterThanOrEqual(10);
    expect(other.outcomes.byOutcome.purchase.approved).toBe(0);
    expect(other.outcomes.byOutcome.purchase.declined).toBe(other.outcomes.total.purchase);
    expect(other.log).toMatch(
      /response code A0: the switch could not verify F64 \(terminal\.macAlgorithm cup-ecb, or working keys out of step\)/,
    );
  });

  it("the key layout of F62: a switch serving 001 signs in terminals asking 001; terminals asking 003 get 12 naming 60.3", async () => {
    const same = await run("layout-001", 'keyLayouts: ["001"]', 'keyLayout: "001",');
    expect(same.outcomes.byOutcome.signin.approved).toBe(10);
    expect(same.outcomes.byOutcome.purchase.approved).toBe(same.outcomes.total.purchase);
    const other = await run("layout-003", 'keyLayouts: ["001"]', "");
    expect(other.outcomes.byOutcome.signin.approved).toBe(0);
    expect(other.outcomes.byOutcome.signin.declined).toBe(other.outcomes.total.signin);
    expect(other.log).toMatch(
      /response code 12 \(invalid transaction\) to 60\.3 003: the switch serves other key layouts \(terminal\.keyLayout\)/,
    );
  });
});
