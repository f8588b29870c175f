import { describe, expect, it } from "vitest";
import { parseXml } from "../testing/xml.ts";
import { formatBound, formatMargin, formatValue, percent } from "./format.ts";
import { escapeHtml } from "./html.ts";
import { xmlEscape } from "./junit.ts";

describe("format", () => {
  it("shows values in their unit", () => {
    expect(percent(0.012345)).toBe("1.23 %");
    expect(percent(0)).toBe("0 %");
    expect(percent(0.00004)).toBe("0.004 %");
    expect(percent(null)).toBe("–");
    expect(formatValue("ms", 12345.6)).toBe("12,346 ms");
    expect(formatValue("s", 3.25)).toBe("3.3 s");
    expect(formatValue("count", 3)).toBe("3");
  });

  it("signs margins and writes objectives", () => {
    expect(formatMargin("ratio", -0.022)).toBe("−2.2 pp");
    expect(formatMargin("ms", 120)).toBe("+120 ms");
    expect(formatMargin("count", 0)).toBe("±0");
    expect(formatMargin("s", null)).toBe("–");
    expect(formatBound("ratio", { max: 0.01 })).toBe("≤ 1 %");
    expect(formatBound("ratio", { min: 0.99, max: 1 })).toBe("≥ 99 %, ≤ 100 %");
  });
});

describe("escaping", () => {
  it("XML: markup characters escaped, characters XML cannot carry dropped", () => {
    const nasty = `a<b>&"c"'\u0000\u0007\u001b[31m\uFFFE✓`;
    const escaped = xmlEscape(nasty);
    expect(escaped).toBe("a&lt;b&gt;&amp;&quot;c&quot;&apos;[31m✓");
    expect(parseXml(`<x a="${escaped}">${escaped}</x>`).attributes.a).toBe(`a<b>&"c"'[31m✓`);
  });

  it("HTML", () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;",
    );
  });

  it("the XML checker refuses what is not well-formed", () => {
    expect(() => parseXml("<a><b></a>")).toThrow("</a> closes <b>");
    expect(() => parseXml("<a>x & y</a>")).toThrow('bare "&"');
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow("repeated");
    expect(() => parseXml("<a/><b/>")).toThrow("second root");
    expect(() => parseXml("<a>")).toThrow("not closed");
  });
});
