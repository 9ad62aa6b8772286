package io.jseek.core.tokenizer;

/**
 * A fast evaluator for the simple regex shapes most pre-tokenizer stages use — {@code \s?[CLASS]+},
 * {@code [CLASS]+}, {@code [CLASS]}, {@code \p{N}{1,3}}, {@code \s+$} — with exactly the semantics
 * {@link RegexSplitter} gives them (the same collapsed or white-space-replaced view of the text), but a
 * table lookup per character instead of a backtracking matcher walking a long chain of ranges.
 * {@link #of} returns null for any other shape; {@link RegexSplitter} handles those.
 */
final class ClassSplitter implements Splitter {
    private enum Quantifier { ONE, PLUS, UP_TO_3 }

    private final boolean collapsed;
    private final boolean optionalSpace;
    private final boolean trailingSpace;
    private final boolean[] members;
    private final Quantifier quantifier;

    private ClassSplitter(boolean collapsed, boolean optionalSpace, boolean trailingSpace, boolean[] members, Quantifier q) {
        this.collapsed = collapsed;
        this.optionalSpace = optionalSpace;
        this.trailingSpace = trailingSpace;
        this.members = members;
        this.quantifier = q;
    }

    /** A splitter for {@code regex} (llama.cpp spelling), or null if it is not one of the simple shapes. */
    static ClassSplitter of(String regex) {
        boolean collapsed = RegexSplitter.usesCategories(regex);
        if (regex.equals("\\s+$")) {
            return new ClassSplitter(collapsed, false, true, new boolean[0], Quantifier.PLUS);
        }
        int i = 0;
        boolean space = regex.startsWith("\\s?");
        if (space) {
            i = 3;
        }
        boolean[] table;
        if (regex.startsWith("\\p{", i) && i + 4 < regex.length() && regex.charAt(i + 4) == '}') {
            table = new boolean[0x100];
            if (!addCategory(regex.charAt(i + 3), table)) {
                return null;
            }
            i += 5;
        } else if (i < regex.length() && regex.charAt(i) == '[') {
            int close = classEnd(regex, i + 1);
            if (close < 0) {
                return null;
            }
            table = parseClass(regex.substring(i + 1, close), collapsed);
            if (table == null) {
                return null;
            }
            i = close + 1;
        } else {
            return null;
        }
        String rest = regex.substring(i);
        Quantifier q = switch (rest) {
            case "" -> Quantifier.ONE;
            case "+" -> Quantifier.PLUS;
            case "{1,3}" -> Quantifier.UP_TO_3;
            default -> null;
        };
        return q == null ? null : new ClassSplitter(collapsed, space, false, table, q);
    }

    /** Index of the unescaped ']' closing a class whose body starts at {@code from}, or -1. */
    private static int classEnd(String r, int from) {
        for (int j = from; j < r.length(); j++) {
            char c = r.charAt(j);
            if (c == '\\') {
                j++;
            } else if (c == '[') {
                return -1; // nested classes are not a simple shape
            } else if (c == ']') {
                return j;
            }
        }
        return -1;
    }

    /** The membership table of a class body, or null if the body uses anything beyond chars, ranges and \p{X}. */
    private static boolean[] parseClass(String body, boolean collapsed) {
        if (body.startsWith("^")) {
            return null;
        }
        java.util.List<int[]> ranges = new java.util.ArrayList<>();
        boolean[] categories = new boolean[0x100];
        int[] pos = {0};
        while (pos[0] < body.length()) {
            if (body.startsWith("\\p{", pos[0])) {
                if (!collapsed || pos[0] + 4 >= body.length() || body.charAt(pos[0] + 4) != '}'
                        || !addCategory(body.charAt(pos[0] + 3), categories)) {
                    return null;
                }
                pos[0] += 5;
                continue;
            }
            int lo = atom(body, pos);
            if (lo < 0) {
                return null;
            }
            int hi = lo;
            if (pos[0] + 1 < body.length() && body.charAt(pos[0]) == '-') {
                pos[0]++;
                hi = atom(body, pos);
                if (hi < lo) {
                    return null;
                }
            }
            ranges.add(new int[] {lo, hi});
        }
        int max = 0xFF;
        for (int[] r : ranges) {
            max = Math.max(max, r[1]);
        }
        boolean[] table = new boolean[max + 1];
        System.arraycopy(categories, 0, table, 0, categories.length);
        for (int[] r : ranges) {
            for (int c = r[0]; c <= r[1]; c++) {
                table[c] = true;
            }
        }
        return table;
    }

    /** One literal character of a class body (plain, or escaped as \x{HEX}, \r, \n, \t or \punct); -1 if unsupported. */
    private static int atom(String body, int[] pos) {
        int p = pos[0];
        if (body.charAt(p) != '\\') {
            int cp = body.codePointAt(p);
            pos[0] = p + Character.charCount(cp);
            return cp;
        }
        if (p + 1 >= body.length()) {
            return -1;
        }
        char e = body.charAt(p + 1);
        pos[0] = p + 2;
        switch (e) {
            case 'r':
                return '\r';
            case 'n':
                return '\n';
            case 't':
                return '\t';
            case 'x': {
                int close = body.indexOf('}', p);
                if (p + 2 >= body.length() || body.charAt(p + 2) != '{' || close < 0) {
                    return -1;
                }
                pos[0] = close + 1;
                return Integer.parseInt(body.substring(p + 3, close), 16);
            }
            default:
                return e < 0x80 && !Character.isLetterOrDigit(e) ? e : -1;
        }
    }

    /** Adds a category's stand-in and ASCII members (as {@link RegexSplitter#categoryMembers}) to a collapsed table. */
    private static boolean addCategory(char category, boolean[] table) {
        String members = RegexSplitter.categoryMembers(category);
        if (members == null) {
            return false;
        }
        boolean[] parsed = parseClass(members, false);
        if (parsed == null) {
            return false;
        }
        for (int c = 0; c < Math.min(parsed.length, table.length); c++) {
            table[c] |= parsed[c];
        }
        return true;
    }

    private static boolean isSpace(int c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }

    private boolean in(int c) {
        return c < members.length && members[c];
    }

    @Override
    public IntList split(int[] cps, IntList lengths) {
        int[] eff = new int[cps.length];
        for (int i = 0; i < cps.length; i++) {
            eff[i] = collapsed ? RegexSplitter.collapse(cps[i]) : RegexSplitter.replaceSpace(cps[i]);
        }
        IntList out = new IntList(lengths.size() * 2);
        int start = 0;
        for (int i = 0; i < lengths.size(); i++) {
            int end = start + lengths.get(i);
            if (trailingSpace) {
                int t = end;
                while (t > start && isSpace(eff[t - 1])) {
                    t--;
                }
                out.addLength(t - start);
                out.addLength(end - t);
            } else {
                splitPiece(eff, start, end, out);
            }
            start = end;
        }
        return out;
    }

    private void splitPiece(int[] eff, int start, int end, IntList out) {
        int last = start;
        int p = start;
        while (p < end) {
            int first;
            if (optionalSpace && isSpace(eff[p]) && p + 1 < end && in(eff[p + 1])) {
                first = p + 1;
            } else if (in(eff[p])) {
                first = p;
            } else {
                p++;
                continue;
            }
            int k = first + 1;
            if (quantifier == Quantifier.PLUS) {
                while (k < end && in(eff[k])) {
                    k++;
                }
            } else if (quantifier == Quantifier.UP_TO_3) {
                while (k < end && k - first < 3 && in(eff[k])) {
                    k++;
                }
            }
            out.addLength(p - last);
            out.addLength(k - p);
            last = k;
            p = k;
        }
        out.addLength(end - last);
    }
}
