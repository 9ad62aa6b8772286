package io.jseek.train;

import io.jseek.engine.Generation;
import io.jseek.engine.SamplerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The held-out measure of the recipe: a fixed set of problems, one sample each at temperature 1 with
 * fixed seeds, judged by the task's verifier. Reports accuracy, how often the model thought, how accurate
 * it was when it did and when it did not, and the mean completion length in tokens.
 */
public final class Evaluation {
    /** How the answer is begun: as the model likes, or forced to open with {@code <think>} or {@code <answer>}. */
    public enum Start {
        FREE(""), THINK("<think>"), DIRECT("<answer>");

        final String text;

        Start(String text) {
            this.text = text;
        }
    }

    public record Result(int n, double accuracy, double thinkRate, double thinkAccuracy, double directAccuracy,
                         double meanLength, double meanReward) {
        @Override
        public String toString() {
            return String.format("accuracy %.1f%%, think-rate %.1f%% (think-accuracy %.1f%%, direct %.1f%%), mean length %.1f",
                    100 * accuracy, 100 * thinkRate, 100 * thinkAccuracy, 100 * directAccuracy, meanLength);
        }
    }

    private final List<AdditionTask.Problem> problems = new ArrayList<>();
    private final CharVocabulary vocab;
    private final int maxTokens;

    public Evaluation(AdditionTask task, CharVocabulary vocab, int n, long seed, int maxTokens) {
        Random rnd = new Random(seed);
        for (int i = 0; i < n; i++) {
            problems.add(task.problem(rnd));
        }
        this.vocab = vocab;
        this.maxTokens = maxTokens;
    }

    /** The prompt's tokens: BOS then the text. */
    static int[] prompt(CharVocabulary vocab, AdditionTask.Problem p) {
        return prompt(vocab, p, Start.FREE);
    }

    static int[] prompt(CharVocabulary vocab, AdditionTask.Problem p, Start start) {
        int[] body = vocab.encode(AdditionTask.prompt(p) + start.text);
        int[] out = new int[body.length + 1];
        out[0] = vocab.bos();
        System.arraycopy(body, 0, out, 1, body.length);
        return out;
    }

    public Result run(TrainableDeepSeek model, RolloutExecutor rollouts) {
        return run(model, rollouts, Start.FREE);
    }

    /**
     * The measure with the answer's start given: {@link Start#THINK} and {@link Start#DIRECT} show what the
     * model can do with and without a worked solution (the premise of the recipe: thinking must be more
     * accurate), whatever it would choose on its own.
     */
    public Result run(TrainableDeepSeek model, RolloutExecutor rollouts, Start start) {
        List<int[]> prompts = problems.stream().map(p -> prompt(vocab, p, start)).toList();
        List<List<Generation>> out = GgufExport.withTemporaryFile(model, vocab, "eval", file -> rollouts.sample(file,
                prompts, 1, new SamplerConfig(1.0f, 0, 1, 0, 1, 0, 0, 64, 0), 987_654_321L, maxTokens));
        int correct = 0;
        int thought = 0;
        int thoughtCorrect = 0;
        int directCorrect = 0;
        long length = 0;
        double reward = 0;
        for (int i = 0; i < problems.size(); i++) {
            Generation g = out.get(i).getFirst();
            AdditionTask.Verdict v = Grpo.verdict(problems.get(i), start.text, g, vocab);
            length += g.tokens().length;
            reward += v.reward();
            correct += v.correct() ? 1 : 0;
            if (v.thought()) {
                thought++;
                thoughtCorrect += v.correct() ? 1 : 0;
            } else {
                directCorrect += v.correct() ? 1 : 0;
            }
        }
        int n = problems.size();
        return new Result(n, correct / (double) n, thought / (double) n,
                thought == 0 ? 0 : thoughtCorrect / (double) thought,
                thought == n ? 0 : directCorrect / (double) (n - thought), length / (double) n, reward / n);
    }
}
