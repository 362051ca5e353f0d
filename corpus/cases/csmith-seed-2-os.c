// Options:   --seed 344485045 --max-funcs 4 --max-block-depth 3 --max-block-size 3 --max-array-dim 2 --max-array-len-per-dim 4 --max-expr-complexity 5 --max-struct-fields 5 --max-union-fields 3 --concise
#include "csmith.h"


static long __undefined;


union U0 {
   volatile uint16_t  f0;
   volatile int16_t  f1;
   int64_t  f2;
};

union U1 {
   int32_t  f0;
};


static int32_t g_2 = 0x7831E42AL;
static const volatile union U1 g_5[2] = {{0x4C23AFC3L},{0x4C23AFC3L}};
static int32_t g_42[2][3] = {{0xD8AC507BL,0xD8AC507BL,0xD8AC507BL},{0x974DB9BEL,0x974DB9BEL,0x974DB9BEL}};
static uint64_t g_48[1][1] = {{0UL}};
static int32_t g_51 = (-2L);
static union U0 g_56[3][4] = {{{0x53D3L},{0x5B4EL},{0x53D3L},{0x53D3L}},{{0x5B4EL},{0x5B4EL},{0x16C0L},{0x5B4EL}},{{0x5B4EL},{0x53D3L},{0x53D3L},{0x5B4EL}}};
static int32_t *g_58 = &g_42[0][1];
static int8_t g_68 = 0xB4L;
static uint16_t g_70 = 65535UL;
static int32_t * volatile g_73[1][3] = {{&g_42[1][0],&g_42[1][0],&g_42[1][0]}};
static int32_t * volatile g_75[3][1] = {{(void*)0},{(void*)0},{(void*)0}};
static int32_t g_85 = (-4L);
static int32_t * volatile g_84 = &g_85;



static uint64_t  func_1(void);
static const int64_t  func_17(uint16_t  p_18);
static const union U1  func_20(int64_t  p_21, union U1  p_22, int32_t  p_23);
static uint64_t  func_33(uint64_t  p_34, union U1  p_35, uint32_t  p_36);




static uint64_t  func_1(void)
{ 
    int64_t l_10 = 0x2CA8CDA2AE7B79F6LL;
    int32_t l_79 = (-5L);
    int32_t l_88 = (-1L);
    int32_t l_93 = 0x4F44E8DBL;
    int32_t l_94 = 0x1A5A204FL;
    int32_t l_95 = 1L;
    int32_t l_96 = 2L;
    int32_t l_97 = 0x2777C731L;
    int32_t l_98 = 0xAE7D9AD9L;
    int32_t l_99[2][3] = {{3L,(-1L),3L},{3L,(-1L),3L}};
    uint32_t l_110[2][1];
    uint64_t l_113[2][2];
    int i, j;
    for (i = 0; i < 2; i++)
    {
        for (j = 0; j < 1; j++)
            l_110[i][j] = 5UL;
    }
    for (i = 0; i < 2; i++)
    {
        for (j = 0; j < 2; j++)
            l_113[i][j] = 0x31E374D1AA54D713LL;
    }
    for (g_2 = 25; (g_2 != 19); g_2--)
    { 
        uint16_t l_26 = 4UL;
        int32_t l_27 = 0L;
        int8_t *l_80 = (void*)0;
        int8_t *l_81 = (void*)0;
        int8_t *l_82 = &g_68;
        int32_t *l_83 = &g_42[0][2];
        int32_t *l_86 = (void*)0;
        int32_t *l_87 = &g_42[0][1];
        int32_t *l_89 = &g_85;
        int32_t *l_90 = &g_85;
        int32_t *l_91 = &g_85;
        int32_t *l_92[2][3];
        uint32_t l_100 = 18446744073709551615UL;
        int i, j;
        for (i = 0; i < 2; i++)
        {
            for (j = 0; j < 3; j++)
                l_92[i][j] = (void*)0;
        }
        (*g_84) = (g_5[0] , ((*l_83) = (((((*l_82) = (safe_rshift_func_uint16_t_u_u((safe_add_func_int16_t_s_s((l_10 & ((safe_sub_func_uint8_t_u_u(((safe_mod_func_uint32_t_u_u((safe_sub_func_int64_t_s_s(func_17((+(func_20(g_2, (((((((((safe_sub_func_uint64_t_u_u(((0x413FL || g_5[0].f0) < 0xA2A0L), l_26)) , l_27) > g_2) , l_26) & l_26) && l_26) , g_2) & 0x3585CA2589D38951LL) , g_5[0]), l_27) , g_70))), 7L)), l_27)) <= l_10), 1L)) & l_79)), 0x697EL)), 15))) >= l_26) ^ l_26) , l_27)));
        l_100++;
        return l_99[1][1];
    }
    for (g_68 = 22; (g_68 != (-3)); g_68 = safe_sub_func_int32_t_s_s(g_68, 5))
    { 
        int32_t *l_105 = (void*)0;
        int32_t *l_106 = &l_99[1][2];
        int32_t *l_107 = &l_96;
        int32_t *l_108 = &l_99[0][1];
        int32_t *l_109[1];
        int i;
        for (i = 0; i < 1; i++)
            l_109[i] = &l_99[1][2];
        l_110[0][0]--;
        if (l_113[1][1])
            continue;
        (*g_58) = 0x49F12889L;
    }
    return l_97;
}



static const int64_t  func_17(uint16_t  p_18)
{ 
    int32_t *l_74 = (void*)0;
    int32_t *l_76 = &g_42[0][1];
    (*l_76) = p_18;
    (*l_76) ^= 0x7C99AE19L;
    for (g_68 = (-17); (g_68 != 10); ++g_68)
    { 
        (*l_76) ^= ((0x17F2E326L >= (p_18 <= 0xA5BFF831C21D0123LL)) , 0L);
    }
    return (*l_76);
}



static const union U1  func_20(int64_t  p_21, union U1  p_22, int32_t  p_23)
{ 
    int16_t l_49 = 0xE333L;
    int32_t *l_57 = (void*)0;
    for (p_21 = 0; (p_21 > (-30)); p_21--)
    { 
        uint64_t l_30[1][3];
        int32_t l_52 = 8L;
        int i, j;
        for (i = 0; i < 1; i++)
        {
            for (j = 0; j < 3; j++)
                l_30[i][j] = 0UL;
        }
        if (l_30[0][0])
        { 
            int32_t *l_41 = &g_42[0][1];
            int8_t *l_47 = (void*)0;
            int32_t *l_50[2][4];
            int i, j;
            for (i = 0; i < 2; i++)
            {
                for (j = 0; j < 4; j++)
                    l_50[i][j] = (void*)0;
            }
            l_52 ^= (safe_sub_func_int32_t_s_s(p_22.f0, ((((g_51 &= (((((*l_41) = func_33((safe_add_func_int8_t_s_s((((*l_41) = (safe_add_func_uint32_t_u_u(0x511C25C5L, 0UL))) , (safe_lshift_func_uint16_t_u_s(((g_48[0][0] |= (safe_rshift_func_uint8_t_u_u((p_23 | 6L), g_42[1][1]))) || p_21), 0))), l_30[0][0])), p_22, l_30[0][0])) | l_49) , 4L) | p_22.f0)) != p_21) < p_23) == g_2)));
        }
        else
        { 
            int32_t l_55 = 3L;
            p_23 = (safe_mod_func_int16_t_s_s((((l_55 == p_22.f0) , g_56[2][1]) , p_23), 65528UL));
            g_58 = l_57;
        }
    }
    for (p_22.f0 = 0; (p_22.f0 == (-9)); p_22.f0 = safe_sub_func_int16_t_s_s(p_22.f0, 7))
    { 
        int8_t *l_65 = (void*)0;
        int32_t l_66 = 0xAC07F4C7L;
        int8_t *l_67 = &g_68;
        uint16_t *l_69 = &g_70;
        int32_t l_71[2][1];
        int32_t *l_72[2];
        int i, j;
        for (i = 0; i < 2; i++)
        {
            for (j = 0; j < 1; j++)
                l_71[i][j] = 0x43BD3A57L;
        }
        for (i = 0; i < 2; i++)
            l_72[i] = &l_71[0][0];
        g_42[0][2] = ((safe_div_func_int64_t_s_s((((*l_69) = (g_56[2][1].f0 || (safe_div_func_int64_t_s_s(((((p_22.f0 == g_2) >= (((*l_67) ^= (l_66 = p_23)) , 0x5411L)) , l_66) && g_42[0][1]), 0x3C0652A1FB9D331FLL)))) < l_71[0][0]), p_23)) , 1L);
    }
    return g_5[0];
}



static uint64_t  func_33(uint64_t  p_34, union U1  p_35, uint32_t  p_36)
{ 
    return g_48[0][0];
}





int main (int argc, char* argv[])
{
    int i, j;
    int print_hash_value = 0;
    if (argc == 2 && strcmp(argv[1], "1") == 0) print_hash_value = 1;
    platform_main_begin();
    crc32_gentab();
    func_1();
    transparent_crc(g_2, "g_2", print_hash_value);
    for (i = 0; i < 2; i++)
    {
        transparent_crc(g_5[i].f0, "g_5[i].f0", print_hash_value);
        if (print_hash_value) printf("index = [%d]\n", i);

    }
    for (i = 0; i < 2; i++)
    {
        for (j = 0; j < 3; j++)
        {
            transparent_crc(g_42[i][j], "g_42[i][j]", print_hash_value);
            if (print_hash_value) printf("index = [%d][%d]\n", i, j);

        }
    }
    for (i = 0; i < 1; i++)
    {
        for (j = 0; j < 1; j++)
        {
            transparent_crc(g_48[i][j], "g_48[i][j]", print_hash_value);
            if (print_hash_value) printf("index = [%d][%d]\n", i, j);

        }
    }
    transparent_crc(g_51, "g_51", print_hash_value);
    for (i = 0; i < 3; i++)
    {
        for (j = 0; j < 4; j++)
        {
            transparent_crc(g_56[i][j].f0, "g_56[i][j].f0", print_hash_value);
            transparent_crc(g_56[i][j].f1, "g_56[i][j].f1", print_hash_value);
            if (print_hash_value) printf("index = [%d][%d]\n", i, j);

        }
    }
    transparent_crc(g_68, "g_68", print_hash_value);
    transparent_crc(g_70, "g_70", print_hash_value);
    transparent_crc(g_85, "g_85", print_hash_value);
    platform_main_end(crc32_context ^ 0xFFFFFFFFUL, print_hash_value);
    return 0;
}
