package io.jseek.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jseek.train.AdamW;
import io.jseek.train.AdditionTask;
import io.jseek.train.CharVocabulary;
import io.jseek.train.Grpo;
import io.jseek.train.InProcessRollouts;
import io.jseek.train.Pretrainer;
import io.jseek.train.RolloutExecutor;
import io.jseek.train.TrainableDeepSeek;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GRPO with its rollouts on Spark (local[2], three partitions) follows the same trajectory as with the in-process
 * executor: the same rewards, losses and, after three steps, the same weights bit for bit (both batch-invariant).
 */
class SparkRolloutExecutorTest {
    @TempDir
    Path shared;

    private static List<Grpo.Step> train(TrainableDeepSeek model, RolloutExecutor rollouts) {
        CharVocabulary v = new CharVocabulary();
        Grpo grpo = new Grpo(model, null, v, new AdditionTask(2, 3, 2, 0.1), new Grpo.Settings(4, 4, 16, 1.0f,
                new AdamW.Settings(1e-3, 0.9, 0.99, 1e-8, 0.0, 1.0, 0, 10, 1.0),
                Grpo.Aggregation.TOKEN_MEAN, Grpo.AdvantageScale.GROUP_STD, 0.2, 0.28, 0, 1, false, false), rollouts, 5);
        List<Grpo.Step> steps = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            steps.add(grpo.step());
        }
        return steps;
    }

    /** A tiny model pretrained just enough that some answers are well formed (rewards vary, so GRPO updates it). */
    private static TrainableDeepSeek model() {
        CharVocabulary v = new CharVocabulary();
        TrainableDeepSeek m = new TrainableDeepSeek(new TrainableDeepSeek.Config(v.size(), 32, 2, 2, 16, 8, 8, 8, 96, 1,
                4, 2, 32, 1, 10000, 1e-6, 64, 0.001), 11);
        Pretrainer p = new Pretrainer(m, v, new AdditionTask(2, 3, 2, 0.1),
                new AdamW.Settings(3e-3, 0.9, 0.95, 1e-8, 0.01, 1.0, 10, 150, 0.1), 16, 1);
        for (int i = 0; i < 150; i++) {
            p.step();
        }
        return m;
    }

    @Test
    void grpoOnSparkFollowsTheInProcessTrajectory() {
        TrainableDeepSeek local = model();
        List<Grpo.Step> want;
        try (InProcessRollouts r = new InProcessRollouts(1, 4, true)) {
            want = train(local, r);
        }
        SparkSession spark = SparkSession.builder().master("local[2]").appName("jseek-grpo")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").getOrCreate();
        try {
            TrainableDeepSeek remote = model();
            List<Grpo.Step> got;
            try (SparkRolloutExecutor r = new SparkRolloutExecutor(spark, shared, 3, 4, 1, true)) {
                got = train(remote, r);
            }
            System.out.println("GRPO steps: " + got);
            assertEquals(want, got);
            org.junit.jupiter.api.Assertions.assertTrue(want.stream().anyMatch(s -> s.loss() != 0),
                    "no step updated the model: the comparison would be of untouched weights " + want);
            for (int p = 0; p < local.parameters().size(); p++) {
                assertArrayEquals(local.parameters().get(p).v, remote.parameters().get(p).v,
                        local.parameters().get(p).name);
            }
        } finally {
            spark.stop();
        }
    }
}
