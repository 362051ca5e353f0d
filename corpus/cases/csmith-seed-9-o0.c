// Options:   --seed 3763798957 --max-funcs 4 --max-block-depth 3 --max-block-size 3 --max-array-dim 2 --max-array-len-per-dim 4 --max-expr-complexity 5 --max-struct-fields 5 --max-union-fields 3 --concise
#include "csmith.h"


static long __undefined;


struct S0 {
   uint16_t  f0;
   int8_t  f1;
   volatile uint8_t  f2;
   uint8_t  f3;
   int16_t  f4;
};

struct S1 {
   signed f0 : 21;
   signed f1 : 4;
   volatile uint8_t  f2;
   uint64_t  f3;
   struct S0  f4;
};


static volatile int32_t g_2[3] = {0xE948708EL,0xE948708EL,0xE948708EL};
static volatile int32_t g_3 = 0x4210E164L;
static volatile int32_t g_4 = (-2L);
static volatile int32_t g_5 = 1L;
static int32_t g_6 = 0x9CF30836L;
static volatile int32_t * volatile g_14 = &g_2[1];
static volatile int32_t g_17 = 0xE13CA4D9L;
static int32_t g_18 = (-5L);
static int32_t g_21 = (-1L);
static int32_t *g_61 = (void*)0;
static int8_t g_86 = 0x8EL;
static struct S1 g_88 = {764,-0,0x9CL,0UL,{0xF827L,0x22L,253UL,0UL,0x5405L}};
static struct S1 *g_90 = &g_88;
static struct S1 ** const  volatile g_89 = &g_90;
static volatile struct S0 g_94 = {0x25DBL,-1L,254UL,0x40L,0x7E60L};
static const int32_t *g_97 = &g_21;
static const int32_t **g_96[2][3] = {{(void*)0,&g_97,(void*)0},{(void*)0,&g_97,(void*)0}};
static const int32_t ***g_95 = &g_96[0][1];
static uint8_t g_116 = 0x80L;
static volatile int8_t *g_137 = &g_94.f1;
static volatile int8_t ** volatile g_136 = &g_137;
static uint8_t g_141[1] = {0UL};
static struct S1 g_144 = {151,-3,0x8FL,1UL,{65532UL,1L,1UL,255UL,0x5CF4L}};
static struct S1 * volatile g_143 = &g_144;
static volatile uint8_t * volatile *g_157[2][4] = {{(void*)0,(void*)0,(void*)0,(void*)0},{(void*)0,(void*)0,(void*)0,(void*)0}};
static int8_t g_179 = 0xD5L;
static int32_t g_181 = 0xE1877820L;
static int32_t * volatile g_180 = &g_181;
static volatile uint16_t g_186 = 0UL;
static const volatile struct S1 g_194 = {-244,1,255UL,0UL,{0UL,-7L,251UL,0xE2L,0x627DL}};
static int32_t * volatile g_198 = &g_181;
static volatile struct S1 g_201[2][2] = {{{1192,-3,255UL,18446744073709551615UL,{0UL,-1L,0x69L,0x6BL,0xA5DAL}},{1192,-3,255UL,18446744073709551615UL,{0UL,-1L,0x69L,0x6BL,0xA5DAL}}},{{1192,-3,255UL,18446744073709551615UL,{0UL,-1L,0x69L,0x6BL,0xA5DAL}},{1192,-3,255UL,18446744073709551615UL,{0UL,-1L,0x69L,0x6BL,0xA5DAL}}}};
static uint32_t g_213 = 8UL;
static int32_t ** volatile g_214 = &g_61;
static int32_t ** volatile g_217 = (void*)0;



static uint32_t  func_1(void);
static int32_t * func_24(uint64_t  p_25, uint32_t  p_26, int32_t * p_27, int64_t  p_28);
static uint64_t  func_62(uint16_t  p_63, int32_t * p_64);
static uint8_t  func_73(uint8_t  p_74, int8_t  p_75);




static uint32_t  func_1(void)
{ 
    int64_t l_9[1];
    uint16_t l_65 = 0UL;
    int32_t *l_227 = &g_6;
    int32_t *l_228 = &g_181;
    int i;
    for (i = 0; i < 1; i++)
        l_9[i] = (-6L);
    for (g_6 = 7; (g_6 != 28); g_6 = safe_add_func_uint64_t_u_u(g_6, 3))
    { 
        (*g_14) = ((l_9[0] , ((((safe_add_func_uint8_t_u_u((0xE5B14F4EL | (-9L)), ((safe_sub_func_int64_t_s_s(((g_5 < g_6) , 0x02AFF63588C55612LL), g_6)) >= g_6))) | l_9[0]) >= 7UL) || 2UL)) , g_2[0]);
    }
    for (g_6 = 0; (g_6 != 6); g_6++)
    { 
        int64_t l_36 = 5L;
        int32_t *l_45 = &g_6;
        int32_t **l_66 = &g_61;
        for (g_18 = 0; (g_18 < 13); g_18++)
        { 
            uint64_t l_42 = 18446744073709551615UL;
            if ((*g_14))
                break;
            for (g_21 = 0; (g_21 != 5); g_21 = safe_add_func_int32_t_s_s(g_21, 5))
            { 
                return g_2[1];
            }
            g_61 = func_24(((+(safe_rshift_func_uint8_t_u_s((safe_rshift_func_int8_t_s_s(((safe_sub_func_int32_t_s_s(l_36, (+((safe_rshift_func_int16_t_s_u((safe_add_func_int8_t_s_s(0xF2L, (l_42 && (safe_lshift_func_int16_t_s_u(g_3, g_18))))), 11)) | l_36)))) & 1L), 1)), g_21))) , g_17), g_18, l_45, g_21);
        }
        if ((*l_45))
            continue;
        (*l_66) = (((*l_45) < 65535UL) , func_24(func_62(l_65, ((*l_66) = (void*)0)), l_9[0], l_227, (*l_227)));
    }
    (*l_228) ^= (*l_227);
    return g_88.f4.f0;
}



static int32_t * func_24(uint64_t  p_25, uint32_t  p_26, int32_t * p_27, int64_t  p_28)
{ 
    int32_t l_46 = 2L;
    int32_t *l_47 = &g_21;
    int32_t l_48[2][3] = {{0L,0L,0L},{0x02C91076L,0x02C91076L,0x02C91076L}};
    int32_t *l_49 = &g_21;
    int32_t *l_50 = (void*)0;
    int32_t *l_51 = &g_21;
    int32_t *l_52 = &g_21;
    int32_t *l_53 = &l_48[0][2];
    int32_t *l_54 = (void*)0;
    int32_t *l_55[4] = {&l_48[0][2],&l_48[0][2],&l_48[0][2],&l_48[0][2]};
    int32_t l_56 = (-10L);
    uint64_t l_57 = 0x28CDD50170A2C9EALL;
    int32_t *l_60[1][2];
    int i, j;
    for (i = 0; i < 1; i++)
    {
        for (j = 0; j < 2; j++)
            l_60[i][j] = &l_56;
    }
    l_57--;
    (*l_51) |= (*p_27);
    return p_27;
}



static uint64_t  func_62(uint16_t  p_63, int32_t * p_64)
{ 
    int64_t l_202 = 1L;
    int32_t l_206 = 0L;
    int32_t *l_218[2];
    int32_t l_221 = 0x23DF1895L;
    int i;
    for (i = 0; i < 2; i++)
        l_218[i] = (void*)0;
    for (g_18 = 13; (g_18 > 0); --g_18)
    { 
        uint8_t *l_203[4];
        int32_t *l_204 = (void*)0;
        int32_t *l_205 = &g_21;
        int32_t l_220 = 0x74B1B2C0L;
        int32_t l_223 = 1L;
        int i;
        for (i = 0; i < 4; i++)
            l_203[i] = &g_116;
        for (g_21 = 2; (g_21 >= 0); g_21 -= 1)
        { 
            uint8_t *l_197[2][1];
            int i, j;
            for (i = 0; i < 2; i++)
            {
                for (j = 0; j < 1; j++)
                    l_197[i][j] = &g_141[0];
            }
            (*g_198) = ((safe_add_func_uint8_t_u_u((g_116 = ((g_2[g_21] , ((safe_lshift_func_uint8_t_u_s(((0xE6L != func_73(((p_63 != ((safe_div_func_int64_t_s_s((safe_lshift_func_uint16_t_u_u(((p_64 = &g_18) != &g_2[g_21]), g_4)), g_18)) && 0x97L)) < 0L), p_63)) & 1UL), 4)) || g_194.f4.f2)) && 0x9DL)), g_88.f4.f3)) ^ g_88.f1);
        }
        if ((l_206 = ((*l_205) = (safe_lshift_func_uint8_t_u_u((g_201[0][1] , (g_141[0] = l_202)), g_144.f1)))))
        { 
            struct S1 **l_210[1];
            int32_t l_211[3];
            uint32_t *l_212 = &g_213;
            int i;
            for (i = 0; i < 1; i++)
                l_210[i] = &g_90;
            for (i = 0; i < 3; i++)
                l_211[i] = 9L;
            (*l_205) = (safe_div_func_int32_t_s_s((1L || p_63), ((*l_212) = (+((l_211[0] = (l_210[0] != &g_90)) , l_211[2])))));
            (*g_214) = l_204;
        }
        else
        { 
            int16_t l_219 = (-5L);
            int32_t l_222[3][1];
            uint32_t l_224 = 0UL;
            int i, j;
            for (i = 0; i < 3; i++)
            {
                for (j = 0; j < 1; j++)
                    l_222[i][j] = (-1L);
            }
            for (g_88.f4.f1 = 0; (g_88.f4.f1 != 16); g_88.f4.f1 = safe_add_func_uint16_t_u_u(g_88.f4.f1, 8))
            { 
                l_218[1] = p_64;
            }
            l_218[1] = p_64;
            --l_224;
        }
    }
    return p_63;
}



static uint8_t  func_73(uint8_t  p_74, int8_t  p_75)
{ 
    int32_t l_84[1];
    int8_t *l_85 = &g_86;
    int32_t l_120 = 0xA2822D1EL;
    uint32_t l_173 = 6UL;
    uint16_t *l_191[4];
    int32_t ** const **l_196 = (void*)0;
    int32_t ** const ***l_195 = &l_196;
    int i;
    for (i = 0; i < 1; i++)
        l_84[i] = 4L;
    for (i = 0; i < 4; i++)
        l_191[i] = &g_88.f4.f0;
    if ((0xA4A7L > ((((*l_85) ^= ((((safe_sub_func_int8_t_s_s((safe_lshift_func_uint16_t_u_u(65535UL, 14)), l_84[0])) | ((g_18 == g_6) , 4294967290UL)) | l_84[0]) && g_5)) & p_74) || p_74)))
    { 
        struct S1 * const l_87 = &g_88;
        (*g_89) = l_87;
    }
    else
    { 
        volatile int32_t *l_91 = &g_4;
        l_91 = &g_17;
    }
    for (g_88.f4.f1 = 24; (g_88.f4.f1 == (-12)); --g_88.f4.f1)
    { 
        const int32_t ***l_99 = &g_96[0][0];
        int32_t **l_113 = &g_61;
        int32_t ** const * const l_112 = &l_113;
        int32_t ** const * const *l_111 = &l_112;
        uint64_t l_119 = 0UL;
        int32_t l_121[4] = {0x0B5FFC7BL,0x0B5FFC7BL,0x0B5FFC7BL,0x0B5FFC7BL};
        int i;
    }
    (*g_180) = ((((safe_rshift_func_uint16_t_u_s((g_144.f4.f0 = l_84[0]), ((g_194 , p_75) | (l_195 != (void*)0)))) , &l_85) == &l_85) < g_21);
    return p_74;
}





int main (int argc, char* argv[])
{
    int i, j;
    int print_hash_value = 0;
    if (argc == 2 && strcmp(argv[1], "1") == 0) print_hash_value = 1;
    platform_main_begin();
    crc32_gentab();
    func_1();
    for (i = 0; i < 3; i++)
    {
        transparent_crc(g_2[i], "g_2[i]", print_hash_value);
        if (print_hash_value) printf("index = [%d]\n", i);

    }
    transparent_crc(g_3, "g_3", print_hash_value);
    transparent_crc(g_4, "g_4", print_hash_value);
    transparent_crc(g_5, "g_5", print_hash_value);
    transparent_crc(g_6, "g_6", print_hash_value);
    transparent_crc(g_17, "g_17", print_hash_value);
    transparent_crc(g_18, "g_18", print_hash_value);
    transparent_crc(g_21, "g_21", print_hash_value);
    transparent_crc(g_86, "g_86", print_hash_value);
    transparent_crc(g_88.f0, "g_88.f0", print_hash_value);
    transparent_crc(g_88.f1, "g_88.f1", print_hash_value);
    transparent_crc(g_88.f2, "g_88.f2", print_hash_value);
    transparent_crc(g_88.f3, "g_88.f3", print_hash_value);
    transparent_crc(g_88.f4.f0, "g_88.f4.f0", print_hash_value);
    transparent_crc(g_88.f4.f1, "g_88.f4.f1", print_hash_value);
    transparent_crc(g_88.f4.f2, "g_88.f4.f2", print_hash_value);
    transparent_crc(g_88.f4.f3, "g_88.f4.f3", print_hash_value);
    transparent_crc(g_88.f4.f4, "g_88.f4.f4", print_hash_value);
    transparent_crc(g_94.f0, "g_94.f0", print_hash_value);
    transparent_crc(g_94.f1, "g_94.f1", print_hash_value);
    transparent_crc(g_94.f2, "g_94.f2", print_hash_value);
    transparent_crc(g_94.f3, "g_94.f3", print_hash_value);
    transparent_crc(g_94.f4, "g_94.f4", print_hash_value);
    transparent_crc(g_116, "g_116", print_hash_value);
    for (i = 0; i < 1; i++)
    {
        transparent_crc(g_141[i], "g_141[i]", print_hash_value);
        if (print_hash_value) printf("index = [%d]\n", i);

    }
    transparent_crc(g_144.f0, "g_144.f0", print_hash_value);
    transparent_crc(g_144.f1, "g_144.f1", print_hash_value);
    transparent_crc(g_144.f2, "g_144.f2", print_hash_value);
    transparent_crc(g_144.f3, "g_144.f3", print_hash_value);
    transparent_crc(g_144.f4.f0, "g_144.f4.f0", print_hash_value);
    transparent_crc(g_144.f4.f1, "g_144.f4.f1", print_hash_value);
    transparent_crc(g_144.f4.f2, "g_144.f4.f2", print_hash_value);
    transparent_crc(g_144.f4.f3, "g_144.f4.f3", print_hash_value);
    transparent_crc(g_144.f4.f4, "g_144.f4.f4", print_hash_value);
    transparent_crc(g_179, "g_179", print_hash_value);
    transparent_crc(g_181, "g_181", print_hash_value);
    transparent_crc(g_186, "g_186", print_hash_value);
    transparent_crc(g_194.f0, "g_194.f0", print_hash_value);
    transparent_crc(g_194.f1, "g_194.f1", print_hash_value);
    transparent_crc(g_194.f2, "g_194.f2", print_hash_value);
    transparent_crc(g_194.f3, "g_194.f3", print_hash_value);
    transparent_crc(g_194.f4.f0, "g_194.f4.f0", print_hash_value);
    transparent_crc(g_194.f4.f1, "g_194.f4.f1", print_hash_value);
    transparent_crc(g_194.f4.f2, "g_194.f4.f2", print_hash_value);
    transparent_crc(g_194.f4.f3, "g_194.f4.f3", print_hash_value);
    transparent_crc(g_194.f4.f4, "g_194.f4.f4", print_hash_value);
    for (i = 0; i < 2; i++)
    {
        for (j = 0; j < 2; j++)
        {
            transparent_crc(g_201[i][j].f0, "g_201[i][j].f0", print_hash_value);
            transparent_crc(g_201[i][j].f1, "g_201[i][j].f1", print_hash_value);
            transparent_crc(g_201[i][j].f2, "g_201[i][j].f2", print_hash_value);
            transparent_crc(g_201[i][j].f3, "g_201[i][j].f3", print_hash_value);
            transparent_crc(g_201[i][j].f4.f0, "g_201[i][j].f4.f0", print_hash_value);
            transparent_crc(g_201[i][j].f4.f1, "g_201[i][j].f4.f1", print_hash_value);
            transparent_crc(g_201[i][j].f4.f2, "g_201[i][j].f4.f2", print_hash_value);
            transparent_crc(g_201[i][j].f4.f3, "g_201[i][j].f4.f3", print_hash_value);
            transparent_crc(g_201[i][j].f4.f4, "g_201[i][j].f4.f4", print_hash_value);
            if (print_hash_value) printf("index = [%d][%d]\n", i, j);

        }
    }
    transparent_crc(g_213, "g_213", print_hash_value);
    platform_main_end(crc32_context ^ 0xFFFFFFFFUL, print_hash_value);
    return 0;
}
