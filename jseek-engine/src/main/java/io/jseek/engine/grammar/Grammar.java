package io.jseek.engine.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A context-free grammar over Unicode code points, in the form a {@link GrammarConstraint} runs: rules, each a list
 * of alternatives, each a sequence of elements — a character set or a reference to a rule. Repetition and groups
 * of the text form ({@link Gbnf}) are rules of their own here. Built by {@link Gbnf#parse}; checked on
 * construction: every referenced rule exists and no rule can reach itself without consuming a character (left
 * recursion, which a top-down matcher cannot run).
 */
public final class Grammar {
    /** One element of a sequence. */
    sealed interface Element permits Chars, Ref {
    }

    /**
     * A set of code points as sorted, disjoint inclusive ranges {@code [lo0, hi0, lo1, hi1, …]}; {@code negated}: every
     * code point outside them.
     */
    record Chars(int[] ranges, boolean negated) implements Element {
        boolean matches(int c) {
            boolean in = false;
            for (int i = 0; i < ranges.length; i += 2) {
                if (c >= ranges[i] && c <= ranges[i + 1]) {
                    in = true;
                    break;
                }
            }
            return in != negated;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Chars c && c.negated == negated && Arrays.equals(c.ranges, ranges);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(ranges) * 31 + (negated ? 1 : 0);
        }
    }

    /** A reference to rule {@code rule}. */
    record Ref(int rule) implements Element {
    }

    /** Rule names, for messages; rule i's alternatives. */
    final List<String> names;
    final Element[][][] rules;
    final int root;

    Grammar(List<String> names, Element[][][] rules, int root) {
        this.names = List.copyOf(names);
        this.rules = rules;
        this.root = root;
        check();
    }

    /** The rule a grammar starts from. */
    public String rootName() {
        return names.get(root);
    }

    /** Rules, counted with the helper rules of repetitions and groups. */
    public int ruleCount() {
        return rules.length;
    }

    private void check() {
        for (int r = 0; r < rules.length; r++) {
            if (rules[r] == null) {
                throw new IllegalArgumentException("grammar: rule " + names.get(r) + " is used but not defined");
            }
            if (rules[r].length == 0) {
                throw new IllegalArgumentException("grammar: rule " + names.get(r) + " has no alternatives");
            }
        }
        // Left recursion: rule r reaches r again through elements that can all match the empty string.
        boolean[] nullable = nullable();
        for (int r = 0; r < rules.length; r++) {
            if (reachesFirst(r, r, new boolean[rules.length], nullable)) {
                throw new IllegalArgumentException("grammar: rule " + names.get(r) + " is left-recursive (it can reach"
                        + " itself before matching a character); rewrite it with repetition");
            }
        }
    }

    /** Which rules can match the empty string. */
    boolean[] nullable() {
        boolean[] n = new boolean[rules.length];
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int r = 0; r < rules.length; r++) {
                if (n[r]) {
                    continue;
                }
                for (Element[] alt : rules[r]) {
                    boolean all = true;
                    for (Element e : alt) {
                        if (!(e instanceof Ref ref && n[ref.rule()])) {
                            all = false;
                            break;
                        }
                    }
                    if (all) {
                        n[r] = true;
                        changed = true;
                        break;
                    }
                }
            }
        }
        return n;
    }

    private boolean reachesFirst(int from, int target, boolean[] seen, boolean[] nullable) {
        for (Element[] alt : rules[from]) {
            for (Element e : alt) {
                if (!(e instanceof Ref ref)) {
                    break;
                }
                if (ref.rule() == target) {
                    return true;
                }
                if (!seen[ref.rule()]) {
                    seen[ref.rule()] = true;
                    if (reachesFirst(ref.rule(), target, seen, nullable)) {
                        return true;
                    }
                }
                if (!nullable[ref.rule()]) {
                    break;
                }
            }
        }
        return false;
    }

    /** Builds a grammar from named rules (alternatives of element lists); helper for {@link Gbnf}. */
    static Grammar of(Map<String, Integer> ids, List<List<List<Element>>> defs, String rootName) {
        List<String> names = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i++) {
            names.add(null);
        }
        ids.forEach((n, i) -> names.set(i, n));
        Element[][][] rules = new Element[ids.size()][][];
        for (int r = 0; r < defs.size(); r++) {
            List<List<Element>> alts = defs.get(r);
            if (alts == null) {
                continue;
            }
            rules[r] = new Element[alts.size()][];
            for (int a = 0; a < alts.size(); a++) {
                rules[r][a] = alts.get(a).toArray(new Element[0]);
            }
        }
        Integer root = ids.get(rootName);
        if (root == null) {
            throw new IllegalArgumentException("grammar: no rule named " + rootName);
        }
        return new Grammar(names, rules, root);
    }
}
