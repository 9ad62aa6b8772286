package io.jseek.train;

/** Not a test: runs the small recipe by hand to calibrate settings and timings. Args: pretrainSteps grpoSteps embd seed. */
final class RecipeProbe {
    public static void main(String[] args) {
        int pre = Integer.parseInt(args[0]);
        int rl = Integer.parseInt(args[1]);
        int embd = Integer.parseInt(args[2]);
        long seed = Long.parseLong(args[3]);
        CharVocabulary v = new CharVocabulary();
        int rot = Integer.parseInt(args[4]);
        int layers = Integer.parseInt(args[5]);
        int heads = Integer.parseInt(args[6]);
        double lr = Double.parseDouble(args[7]);
        var c = new TrainableDeepSeek.Config(v.size(), embd, layers, heads, 32, 16, rot, 16, 3 * embd, 1, 4, 2, embd, 1, 10000, 1e-6, 64, 0.001);
        TrainableDeepSeek m = new TrainableDeepSeek(c, seed);
        System.out.println("parameters " + m.parameters().stream().mapToLong(Var::size).sum());
        AdditionTask task = new AdditionTask(3, 3, 2, 0.1);
        long t0 = System.nanoTime();
        Pretrainer p = new Pretrainer(m, v, task, new AdamW.Settings(lr, 0.9, 0.95, 1e-8, 0.01, 1.0, 50, pre, 0.1), 32, seed);
        for (int i = 0; i < pre; i++) {
            var s = p.step();
            if (i % 100 == 0 || i == pre - 1) {
                System.out.printf("pretrain %d loss %.3f %.1f s%n", s.step(), s.loss(), (System.nanoTime() - t0) / 1e9);
            }
        }
        try (InProcessRollouts ro = new InProcessRollouts(2, 64)) {
            Evaluation eval = new Evaluation(task, v, 256, 7, 40);
            long t1 = System.nanoTime();
            System.out.println("base: " + eval.run(m, ro) + String.format(" (%.1f s)", (System.nanoTime() - t1) / 1e9));
            System.out.println("base forced think: " + eval.run(m, ro, Evaluation.Start.THINK));
            System.out.println("base forced direct: " + eval.run(m, ro, Evaluation.Start.DIRECT));
            Grpo g = new Grpo(m, null, v, task, new Grpo.Settings(16, 8, 40, 1.0f,
                    new AdamW.Settings(Double.parseDouble(args[8]), 0.9, 0.99, 1e-8, 0.0, 1.0, 0, rl, 1.0),
                    Grpo.Aggregation.TOKEN_MEAN, Grpo.AdvantageScale.GROUP_STD, 0.2, 0.28, 0, 1, true, false), ro, seed);
            long t2 = System.nanoTime();
            for (int i = 0; i < rl; i++) {
                var s = g.step();
                if (i % 5 == 0 || i == rl - 1) {
                    System.out.printf("grpo %d reward %.2f acc %.2f think %.2f len %.1f zero-var %.2f %.1f s%n", s.step(), s.meanReward(),
                            s.accuracy(), s.thinkRate(), s.meanLength(), s.zeroVarianceGroups(), (System.nanoTime() - t2) / 1e9);
                }
            }
            System.out.println("after: " + eval.run(m, ro));
        }
        System.out.printf("total %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }
}
