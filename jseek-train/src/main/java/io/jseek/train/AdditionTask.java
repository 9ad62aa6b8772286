package io.jseek.train;

import java.util.Random;

/**
 * The R1-recipe demo task (docs/training.md): add k numbers of a few digits. A worked solution does column
 * addition inside {@code <think>} — each column's digits plus the carry, e.g. {@code 47+38+95=} →
 * {@code <think>7+8+5=20;4+3+9+2=18</think><answer>180</answer>} — where every step is a small sum of
 * digits the model can learn reliably, unlike the whole sum at once.
 *
 * <p>Two document styles make a base model that <em>can</em> reason but usually does not when asked the
 * RL way: "S" documents always show the worked solution; "Q" documents (the prompt style RL uses) give a
 * bare answer except for a small share ({@code qThinkShare}).
 *
 * @param minTerms    fewest numbers in a problem
 * @param maxTerms    most numbers
 * @param digits      digits per number (no leading zeros)
 * @param qThinkShare share of Q documents that show the worked solution
 */
public record AdditionTask(int minTerms, int maxTerms, int digits, double qThinkShare) {
    public AdditionTask {
        if (minTerms < 2 || maxTerms < minTerms || digits < 1 || digits > 6 || qThinkShare < 0 || qThinkShare > 1) {
            throw new IllegalArgumentException("bad task settings " + this);
        }
    }

    /** One problem: its numbers. */
    public record Problem(int[] terms) {
        public long answer() {
            long s = 0;
            for (int t : terms) {
                s += t;
            }
            return s;
        }

        /** "47+38+95=". */
        public String question() {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < terms.length; i++) {
                b.append(i > 0 ? "+" : "").append(terms[i]);
            }
            return b.append('=').toString();
        }

        /** The column-addition trace: "7+8+5=20;4+3+9+2=18". */
        public String columns() {
            int width = 0;
            for (int t : terms) {
                width = Math.max(width, Integer.toString(t).length());
            }
            StringBuilder b = new StringBuilder();
            int carry = 0;
            int place = 1;
            for (int c = 0; c < width; c++, place *= 10) {
                int sum = carry;
                StringBuilder step = new StringBuilder();
                for (int t : terms) {
                    if (t >= place || c == 0) {
                        int digit = t / place % 10;
                        step.append(step.isEmpty() ? "" : "+").append(digit);
                        sum += digit;
                    }
                }
                if (carry > 0) {
                    step.append('+').append(carry);
                }
                b.append(c > 0 ? ";" : "").append(step).append('=').append(sum);
                carry = sum / 10;
            }
            return b.toString();
        }

        public String worked() {
            return "<think>" + columns() + "</think><answer>" + answer() + "</answer>";
        }

        public String bare() {
            return "<answer>" + answer() + "</answer>";
        }
    }

    public Problem problem(Random rnd) {
        int k = minTerms + rnd.nextInt(maxTerms - minTerms + 1);
        int lo = digits == 1 ? 0 : (int) Math.pow(10, digits - 1);
        int hi = (int) Math.pow(10, digits);
        int[] terms = new int[k];
        for (int i = 0; i < k; i++) {
            terms[i] = lo + rnd.nextInt(hi - lo);
        }
        return new Problem(terms);
    }

    /** The prompt RL and evaluation use: "Q 47+38+95=". */
    public static String prompt(Problem p) {
        return "Q " + p.question();
    }

    /** A pretraining document: half S (always worked), half Q (worked in qThinkShare of them). */
    public String document(Random rnd) {
        Problem p = problem(rnd);
        if (rnd.nextBoolean()) {
            return "S " + p.question() + p.worked();
        }
        return prompt(p) + (rnd.nextDouble() < qThinkShare ? p.worked() : p.bare());
    }

    /** How a completion of a prompt is judged. */
    public record Verdict(boolean wellFormed, boolean correct, boolean thought) {
        /** The rule-based reward: 1 correct in well-formed tags, 0.1 well-formed but wrong, 0 malformed. */
        public double reward() {
            return correct ? 1.0 : wellFormed ? 0.1 : 0.0;
        }
    }

    /**
     * Judges a completion (the text after the prompt, end-of-sequence excluded): optional
     * {@code <think>…</think>}, then {@code <answer>N</answer>} and nothing else.
     */
    public static Verdict judge(Problem p, String completion) {
        String s = completion;
        boolean thought = false;
        if (s.startsWith("<think>")) {
            int end = s.indexOf("</think>");
            if (end < 0) {
                return new Verdict(false, false, true);
            }
            thought = true;
            s = s.substring(end + "</think>".length());
        }
        if (!s.startsWith("<answer>") || !s.endsWith("</answer>")) {
            return new Verdict(false, false, thought);
        }
        String n = s.substring("<answer>".length(), s.length() - "</answer>".length());
        if (n.isEmpty() || n.length() > 12 || !n.chars().allMatch(Character::isDigit) || n.contains("<")) {
            return new Verdict(false, false, thought);
        }
        return new Verdict(true, Long.parseLong(n) == p.answer(), thought);
    }
}
