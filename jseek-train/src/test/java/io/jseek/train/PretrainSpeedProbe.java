package io.jseek.train;

/** Not a test: times pretraining steps of the demo configuration (run by hand). */
final class PretrainSpeedProbe {
    public static void main(String[] args) {
        CharVocabulary v = new CharVocabulary();
        var c = new TrainableDeepSeek.Config(v.size(), 128, 4, 4, 64, 32, 16, 32, 384, 1, 8, 2, 128, 1, 10000, 1e-6, 128, 0.001);
        TrainableDeepSeek m = new TrainableDeepSeek(c, 1);
        long params = m.parameters().stream().mapToLong(Var::size).sum();
        System.out.println("parameters " + params);
        Pretrainer p = new Pretrainer(m, v, new AdditionTask(3, 4, 2, 0.1),
                new AdamW.Settings(2e-3, 0.9, 0.95, 1e-8, 0.01, 1.0, 100, 1500, 0.1), 64, 1);
        for (int i = 0; i < 12; i++) {
            long t0 = System.nanoTime();
            var s = p.step();
            System.out.printf("step %d loss %.3f tokens %d %.2f s%n", s.step(), s.loss(), s.tokens(), (System.nanoTime() - t0) / 1e9);
        }
    }
}
