# SPDX-License-Identifier: MIT
# truth.json -> one line per scenario step: "NAME<TAB>T_ACTUAL<TAB>TRUTH<TAB>VIOLATION<TAB>WHATIF
# ARGS", where TRUTH is the step's ground-truth earliest time in epoch seconds (the change it
# waits for + the TTL of what that change replaced: the designed wait's TTL terms, without its
# fixed terms and margin; "-" when it waits for nothing), VIOLATION the glitch IDs the early
# form should cause (comma-separated, "-" for none), and WHATIF ARGS the step in the
# obs-analyzer whatif grammar (several changes joined by " + ").
def secs: sub("\\.(?<f>[0-9]+)Z$"; "Z") as $s | ($s | fromdateiso8601);
def msecs: . as $t | ($t | secs) + (($t | capture("\\.(?<f>[0-9]+)Z$").f // "0") | ("0." + .) | tonumber);
def tag: split(" ")[0];
def prov: ascii_downcase;
. as $root
| ($root.t0 | msecs) as $t0
# $seen (--argjson): step name -> the first poll that saw a stopped server fail, when earlier
# than the driver's "served" (which it records after the process has exited)
| [$root.steps[] | {step, name, served: ([(.served | msecs), ($seen[.name] // 1e12)] | min)}] as $served
# the DNSKEY RRset of each provider as of each step (for signer-only changes)
| reduce $root.steps[] as $s ({cur: ($root.baseline.providers | with_entries(.value = .value.dnskey)), out: []};
    .cur as $before
    | .cur = reduce ($s.changes[] | select(.rrset | endswith(" DNSKEY"))) as $c (.cur; .[$c.origin] = $c.after)
    | .out += [{s: $s, before: $before, after: .cur}])
| .out[]
| .s as $s | .after as $state
| ([$s.wait.terms[]? | select(.ttl != "fixed")
    | (if .after_step == 0 or .after == "baseline" then $t0
       else (.after_step as $k | $served[] | select(.step == $k) | .served) end) + .seconds]
   | if length == 0 then "-" else (max | tostring) end) as $truth
| ([$s.changes[] | . as $c
    | if ($c.rrset | endswith(" DNSKEY")) then
        ([$s.changes[] | select(.origin == $c.origin and (.rrset | endswith("RRSIG(DNSKEY) signers")))] | first) as $sig
        | "dnskey-set \($c.origin | prov) \([$c.after[] | tag] | join(" "))"
          + (if $sig then " signed-by \([$sig.after[] | tag] | join(" "))" else "" end)
      elif ($c.rrset | endswith("RRSIG(DNSKEY) signers")) then
        (if any($s.changes[]; .origin == $c.origin and (.rrset | endswith(" DNSKEY"))) then empty
         else "dnskey-set \($c.origin | prov) \([$state[$c.origin][] | tag] | join(" ")) signed-by \([$c.after[] | tag] | join(" "))" end)
      elif ($c.rrset | endswith("RRSIG(data) signers")) then
        "sign-with \($c.origin | prov) \([$c.after[] | tag] | join(" "))"
      elif ($c.rrset | endswith(" DS")) then
        "ds-set \([$c.after[] | tag] | join(" "))"
      elif ($c.rrset | endswith("NS (delegation)")) then
        "ns-set parent \($c.after | join(" "))"
      elif ($c.rrset | endswith("NS (apex)")) then
        "ns-set \($c.origin | prov) \($c.after | join(" "))"
      elif $c.rrset == "server" and ($c.after | index("stopped")) then
        "stop \($c.origin | prov)"
      else empty end]) as $parts
| [$s.name, ($s.time | msecs | tostring), $truth,
   (($s.violation.glitch // []) | if length == 0 then "-" else join(",") end),
   ($parts | join(" + "))]
| @tsv
