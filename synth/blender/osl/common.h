/* Shared by egorig's OSL cameras (one model per shader, parameters as shader inputs).
 *
 * Pixels follow OpenCV: (u, v) = (0, 0) is the centre of the top-left pixel. Cycles' raster position is
 * (0, 0) at the bottom-left corner and (1, 1) at the top-right one, so u = x W - 0.5 and v = (1 - y) H - 0.5.
 * Rays are built in the OpenCV camera frame (x right, y down, z optical axis) and returned in the OSL camera
 * frame (x right, y up, z optical axis): (x, -y, z). A pixel outside the model's valid cone gets throughput 0
 * (black, like the native fisheye outside its image circle).
 */

#define EGORIG_NEWTON_ITERS 40

void egorig_pixel(float width, float height, output float pu, output float pv)
{
    point raster = camera_shader_raster_position();
    pu = raster[0] * width - 0.5;
    pv = (1.0 - raster[1]) * height - 0.5;
}

vector egorig_ray(float theta, float mx, float my)
{
    float r = hypot(mx, my);
    float c = 0.0;
    float s = 0.0;
    if (r > 0.0) {
        c = mx / r;
        s = my / r;
    }
    float st = sin(theta);
    return vector(st * c, -st * s, cos(theta));
}

/* theta_d(theta) = theta (1 + c1 theta^2 + ... + c6 theta^12), and its derivative. */
float egorig_odd_poly(float t, float c1, float c2, float c3, float c4, float c5, float c6)
{
    float t2 = t * t;
    return t * (1.0 + t2 * (c1 + t2 * (c2 + t2 * (c3 + t2 * (c4 + t2 * (c5 + t2 * c6))))));
}

float egorig_odd_poly_d(float t, float c1, float c2, float c3, float c4, float c5, float c6)
{
    float t2 = t * t;
    return 1.0 + t2 * (3.0 * c1 + t2 * (5.0 * c2 + t2 * (7.0 * c3 + t2 * (9.0 * c4 + t2 * (11.0 * c5 +
           t2 * 13.0 * c6)))));
}

/* Solve egorig_odd_poly(theta) = td on [0, theta_max] (increasing there): Newton kept inside a bisection bracket. */
float egorig_solve_theta(float td, float theta_max, float c1, float c2, float c3, float c4, float c5, float c6)
{
    float lo = 0.0;
    float hi = theta_max;
    float t = min(td, theta_max);
    for (int i = 0; i < EGORIG_NEWTON_ITERS; i++) {
        float f = egorig_odd_poly(t, c1, c2, c3, c4, c5, c6) - td;
        if (f < 0.0)
            lo = t;
        else
            hi = t;
        float t_new = t - f / egorig_odd_poly_d(t, c1, c2, c3, c4, c5, c6);
        if (!(t_new > lo && t_new < hi))
            t_new = 0.5 * (lo + hi);
        if (abs(t_new - t) <= 1e-7 * max(1.0, t)) {
            t = t_new;
            break;
        }
        t = t_new;
    }
    return t;
}
