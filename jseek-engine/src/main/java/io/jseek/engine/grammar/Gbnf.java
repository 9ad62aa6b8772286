package io.jseek.engine.grammar;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * llama.cpp's grammar text (GBNF): {@code name ::= alternatives} rules, {@code |} between alternatives, sequences of
 * {@code "literals"}, {@code [character classes]} (ranges, {@code ^} negation), {@code .} (any character), rule names,
 * {@code ( groups )}, and the repetitions {@code * + ?} and {@code {m}}, {@code {m,}}, {@code {m,n}}; {@code #}
 * comments; escapes {@code \n \r \t \\ \" \] \[ \- \xHH \\uHHHH \UHHHHHHHH}. Rules may span lines (a new rule starts
 * at {@code name ::=}). The grammar starts at {@code root}.
 */
public final class Gbnf {
    private final String src;
    private int at;
    private final Map<String, Integer> ids = new LinkedHashMap<>();
    private final List<List<List<Grammar.Element>>> defs = new ArrayList<>();
    private int helpers;

    private Gbnf(String src) {
        this.src = src;
    }

    /** Parses {@code text}; IllegalArgumentException naming the line and column of a syntax error. */
    public static Grammar parse(String text) {
        return parse(text, "root");
    }

    /** Parses {@code text}, starting at rule {@code root}. */
    public static Grammar parse(String text, String root) {
        Gbnf p = new Gbnf(text);
        p.rules();
        return Grammar.of(p.ids, p.defs, root);
    }

    private void rules() {
        space();
        while (at < src.length()) {
            String name = name();
            space();
            if (!src.startsWith("::=", at)) {
                throw error("expected ::= after rule name " + name);
            }
            at += 3;
            space();
            int id = id(name);
            if (defs.get(id) != null) {
                throw error("rule " + name + " is defined twice");
            }
            defs.set(id, alternatives(false));
            space();
        }
    }

    private List<List<Grammar.Element>> alternatives(boolean nested) {
        List<List<Grammar.Element>> alts = new ArrayList<>();
        alts.add(sequence(nested));
        while (at < src.length() && src.charAt(at) == '|') {
            at++;
            space();
            alts.add(sequence(nested));
        }
        return alts;
    }

    /** A sequence, up to '|', ')' or (at top level) the start of the next rule. */
    private List<Grammar.Element> sequence(boolean nested) {
        List<Grammar.Element> seq = new ArrayList<>();
        while (at < src.length()) {
            char c = src.charAt(at);
            if (c == '|' || c == ')') {
                break;
            }
            if (!nested && startsRule()) {
                break;
            }
            int start = seq.size();
            if (c == '"') {
                at++;
                while (true) {
                    if (at >= src.length()) {
                        throw error("unterminated string");
                    }
                    if (src.charAt(at) == '"') {
                        at++;
                        break;
                    }
                    int cp = character();
                    seq.add(new Grammar.Chars(new int[] {cp, cp}, false));
                }
            } else if (c == '[') {
                seq.add(charClass());
            } else if (c == '.') {
                at++;
                seq.add(new Grammar.Chars(new int[0], true));
            } else if (c == '(') {
                at++;
                space();
                List<List<Grammar.Element>> inner = alternatives(true);
                if (at >= src.length() || src.charAt(at) != ')') {
                    throw error("expected )");
                }
                at++;
                seq.add(new Grammar.Ref(helper(inner)));
            } else if (isNameChar(c)) {
                seq.add(new Grammar.Ref(id(name())));
            } else {
                throw error("unexpected '" + c + "'");
            }
            space();
            repetition(seq, start);
        }
        return seq;
    }

    /** A repetition operator after the last item (items from {@code start}): rewritten as helper rules. */
    private void repetition(List<Grammar.Element> seq, int start) {
        if (at >= src.length()) {
            return;
        }
        char c = src.charAt(at);
        int min;
        int max;
        if (c == '*' || c == '+' || c == '?') {
            at++;
            min = c == '+' ? 1 : 0;
            max = c == '?' ? 1 : -1;
        } else if (c == '{') {
            at++;
            min = number();
            max = min;
            if (at < src.length() && src.charAt(at) == ',') {
                at++;
                max = at < src.length() && Character.isDigit(src.charAt(at)) ? number() : -1;
            }
            if (at >= src.length() || src.charAt(at) != '}') {
                throw error("expected } of a repetition");
            }
            at++;
            if (max >= 0 && max < min) {
                throw error("repetition {" + min + "," + max + "}: the maximum is below the minimum");
            }
        } else {
            return;
        }
        if (seq.size() == start) {
            throw error("nothing to repeat");
        }
        List<Grammar.Element> item = new ArrayList<>(seq.subList(start, seq.size()));
        seq.subList(start, seq.size()).clear();
        seq.add(new Grammar.Ref(repeat(item, min, max)));
        space();
    }

    /** A helper rule matching {@code item} min to max times (max −1: unbounded). */
    private int repeat(List<Grammar.Element> item, int min, int max) {
        List<List<Grammar.Element>> alts = new ArrayList<>();
        List<Grammar.Element> seq = new ArrayList<>();
        for (int i = 0; i < min; i++) {
            seq.addAll(item);
        }
        if (max < 0) {
            // item* as star ::= item star | ε (right recursion: the matcher's stacks do not grow with it).
            int star = helper(null);
            List<Grammar.Element> more = new ArrayList<>(item);
            more.add(new Grammar.Ref(star));
            defs.set(star, List.of(more, List.of()));
            seq.add(new Grammar.Ref(star));
            alts.add(seq);
        } else if (max > min) {
            // Up to max − min more, nested: opt ::= item opt' | ε.
            int next = -1;
            for (int k = 0; k < max - min; k++) {
                int opt = helper(null);
                List<Grammar.Element> one = new ArrayList<>(item);
                if (next >= 0) {
                    one.add(new Grammar.Ref(next));
                }
                defs.set(opt, List.of(one, List.of()));
                next = opt;
            }
            seq.add(new Grammar.Ref(next));
            alts.add(seq);
        } else {
            alts.add(seq);
        }
        return helper(alts);
    }

    private int helper(List<List<Grammar.Element>> alts) {
        String name = "_" + helpers++;
        int id = id(name);
        defs.set(id, alts);
        return id;
    }

    private Grammar.Chars charClass() {
        at++;
        boolean negated = at < src.length() && src.charAt(at) == '^';
        if (negated) {
            at++;
        }
        List<int[]> ranges = new ArrayList<>();
        while (true) {
            if (at >= src.length()) {
                throw error("unterminated character class");
            }
            if (src.charAt(at) == ']') {
                at++;
                break;
            }
            int lo = character();
            int hi = lo;
            if (at + 1 < src.length() && src.charAt(at) == '-' && src.charAt(at + 1) != ']') {
                at++;
                hi = character();
                if (hi < lo) {
                    throw error("character range backwards");
                }
            }
            ranges.add(new int[] {lo, hi});
        }
        return new Grammar.Chars(merge(ranges), negated);
    }

    /** Sorted, merged ranges as a flat array. */
    static int[] merge(List<int[]> ranges) {
        ranges.sort((a, b) -> Integer.compare(a[0], b[0]));
        List<int[]> out = new ArrayList<>();
        for (int[] r : ranges) {
            if (!out.isEmpty() && r[0] <= out.getLast()[1] + 1) {
                out.getLast()[1] = Math.max(out.getLast()[1], r[1]);
            } else {
                out.add(r.clone());
            }
        }
        int[] flat = new int[2 * out.size()];
        for (int i = 0; i < out.size(); i++) {
            flat[2 * i] = out.get(i)[0];
            flat[2 * i + 1] = out.get(i)[1];
        }
        return flat;
    }

    /** One character of a literal or class, escapes decoded. */
    private int character() {
        int c = src.codePointAt(at);
        if (c != '\\') {
            at += Character.charCount(c);
            return c;
        }
        if (at + 1 >= src.length()) {
            throw error("dangling backslash");
        }
        char e = src.charAt(at + 1);
        at += 2;
        return switch (e) {
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'U' -> hex(8);
            case '\\', '"', '[', ']', '-', '^', '/' -> e;
            default -> throw error("unknown escape \\" + e);
        };
    }

    private int hex(int digits) {
        if (at + digits > src.length()) {
            throw error("short hex escape");
        }
        try {
            int v = Integer.parseUnsignedInt(src.substring(at, at + digits), 16);
            at += digits;
            return v;
        } catch (NumberFormatException e) {
            throw error("bad hex escape");
        }
    }

    private int number() {
        int start = at;
        while (at < src.length() && Character.isDigit(src.charAt(at))) {
            at++;
        }
        if (start == at) {
            throw error("expected a number");
        }
        return Integer.parseInt(src.substring(start, at));
    }

    private String name() {
        int start = at;
        while (at < src.length() && isNameChar(src.charAt(at))) {
            at++;
        }
        if (start == at) {
            throw error("expected a rule name");
        }
        return src.substring(start, at);
    }

    private static boolean isNameChar(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_';
    }

    /** True at {@code name ::=}. */
    private boolean startsRule() {
        int i = at;
        while (i < src.length() && isNameChar(src.charAt(i))) {
            i++;
        }
        if (i == at) {
            return false;
        }
        while (i < src.length() && (src.charAt(i) == ' ' || src.charAt(i) == '\t')) {
            i++;
        }
        return src.startsWith("::=", i);
    }

    /** Skips blanks, newlines and comments (a rule ends where the next {@code name ::=} starts). */
    private void space() {
        while (at < src.length()) {
            char c = src.charAt(at);
            if (c == '#') {
                while (at < src.length() && src.charAt(at) != '\n') {
                    at++;
                }
            } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                at++;
            } else {
                break;
            }
        }
    }

    private int id(String name) {
        Integer id = ids.get(name);
        if (id == null) {
            id = ids.size();
            ids.put(name, id);
            defs.add(null);
        }
        return id;
    }

    private IllegalArgumentException error(String what) {
        int line = 1;
        int col = 1;
        for (int i = 0; i < Math.min(at, src.length()); i++) {
            if (src.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new IllegalArgumentException("grammar line " + line + ", column " + col + ": " + what);
    }
}
