package io.jseek.engine.grammar;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * Grammar text for the integers of a range, digit by digit (JSON's integers: no leading zeros, no {@code -0}): for
 * each digit count the numbers between two same-length bounds are "same first digit, then the rest's range", or
 * "low first digit then anything above the rest of the low bound | the digits between, anything after | high first
 * digit then anything below the rest of the high bound". Unbounded sides stop at 16 digits, as the plain integer rule.
 */
final class IntegerRange {
    private static final int MAX_DIGITS = 16;

    private IntegerRange() {
    }

    /** {@code lo..hi} inclusive; either may be null (unbounded). */
    static String gbnf(BigInteger lo, BigInteger hi) {
        List<String> alts = new ArrayList<>();
        // Non-negative part.
        BigInteger a = lo == null ? BigInteger.ZERO : lo.max(BigInteger.ZERO);
        if (hi == null || hi.signum() >= 0) {
            alts.add(nonNegative(a, hi));
        }
        // Negative part: magnitudes from max(1, −hi) to −lo.
        if (lo == null || lo.signum() < 0) {
            BigInteger magLo = hi == null || hi.signum() >= 0 ? BigInteger.ONE : hi.negate();
            BigInteger magHi = lo == null ? null : lo.negate();
            alts.add("\"-\" " + nonNegative(magLo, magHi));
        }
        return String.join(" | ", alts);
    }

    /** Integers from a (≥ 0) to b (null: unbounded). */
    private static String nonNegative(BigInteger a, BigInteger b) {
        List<String> alts = new ArrayList<>();
        int from = a.toString().length();
        int to = b == null ? Math.max(from, MAX_DIGITS) : b.toString().length();
        for (int d = from; d <= to; d++) {
            BigInteger low = d == 1 ? BigInteger.ZERO : BigInteger.TEN.pow(d - 1);
            BigInteger high = BigInteger.TEN.pow(d).subtract(BigInteger.ONE);
            BigInteger l = a.max(low);
            BigInteger h = b == null ? high : b.min(high);
            if (l.compareTo(h) <= 0) {
                alts.add(range(l.toString(), h.toString()));
            }
        }
        return "(" + String.join(" | ", alts) + ")";
    }

    /** Same-length digit strings, low ≤ high. */
    private static String range(String low, String high) {
        if (low.isEmpty()) {
            return "\"\"";
        }
        String restLow = low.substring(1);
        String restHigh = high.substring(1);
        int l0 = low.charAt(0) - '0';
        int h0 = high.charAt(0) - '0';
        String any = restLow.isEmpty() ? "" : " [0-9]{" + restLow.length() + "}";
        if (l0 == h0) {
            return "(\"" + l0 + "\"" + (restLow.isEmpty() ? "" : " " + range(restLow, restHigh)) + ")";
        }
        if (restLow.chars().allMatch(c -> c == '0') && restHigh.chars().allMatch(c -> c == '9')) {
            return "([" + l0 + "-" + h0 + "]" + any + ")";
        }
        List<String> alts = new ArrayList<>();
        alts.add("\"" + l0 + "\"" + (restLow.isEmpty() ? "" : " " + range(restLow, "9".repeat(restLow.length()))));
        if (l0 + 1 <= h0 - 1) {
            alts.add("[" + (l0 + 1) + "-" + (h0 - 1) + "]" + any);
        }
        alts.add("\"" + h0 + "\"" + (restHigh.isEmpty() ? "" : " " + range("0".repeat(restHigh.length()), restHigh)));
        return "(" + String.join(" | ", alts) + ")";
    }
}
