package io.jseek.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class AdditionTaskTest {
    @Test
    void columnTraceAndAnswer() {
        var p = new AdditionTask.Problem(new int[] {47, 38, 95});
        assertEquals("47+38+95=", p.question());
        assertEquals("<think>7+8+5=20;4+3+9+2=18</think><answer>180</answer>", p.worked());
        var q = new AdditionTask.Problem(new int[] {999, 1, 5});
        assertEquals("9+1+5=15;9+1=10;9+1=10", q.columns());
        assertEquals(1005, q.answer());
    }

    @Test
    void everyColumnTraceAddsUp() {
        AdditionTask task = new AdditionTask(2, 6, 3, 0.1);
        Random rnd = new Random(1);
        for (int i = 0; i < 2000; i++) {
            var p = task.problem(rnd);
            // Reassemble the answer from the trace: the last column's sum, then each earlier column's units.
            String[] steps = p.columns().split(";");
            StringBuilder digits = new StringBuilder(steps[steps.length - 1].split("=")[1]);
            for (int c = steps.length - 2; c >= 0; c--) {
                String sum = steps[c].split("=")[1];
                digits.append(sum.charAt(sum.length() - 1));
            }
            assertEquals(Long.toString(p.answer()), digits.toString(), p.question() + " " + p.columns());
        }
    }

    @Test
    void judging() {
        var p = new AdditionTask.Problem(new int[] {12, 30});
        assertEquals(1.0, AdditionTask.judge(p, p.worked()).reward());
        assertTrue(AdditionTask.judge(p, p.worked()).thought());
        assertEquals(1.0, AdditionTask.judge(p, "<answer>42</answer>").reward());
        assertFalse(AdditionTask.judge(p, "<answer>42</answer>").thought());
        assertEquals(0.1, AdditionTask.judge(p, "<answer>43</answer>").reward());
        assertEquals(0.0, AdditionTask.judge(p, "<answer>42").reward());
        assertEquals(0.0, AdditionTask.judge(p, "<think>2+0=2</think>42").reward());
        assertEquals(0.0, AdditionTask.judge(p, "<think>2+0=2<answer>42</answer>").reward());
        assertEquals(0.0, AdditionTask.judge(p, "<answer>42</answer>x").reward());
    }
}
